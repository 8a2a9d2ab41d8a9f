#include "sys/sysctl.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "podns/fd.hpp"

namespace podns::sys {
namespace {

std::string sysctl_path(std::string_view key) {
  std::string k(key);
  if (k.find('/') == std::string::npos) std::replace(k.begin(), k.end(), '.', '/');
  return "/proc/sys/" + k;
}

}  // namespace

Result<std::string> read_sysctl(std::string_view key) {
  const std::string path = sysctl_path(key);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return fail_errno(fmt::format("read sysctl {}", key));
  char buf[256];
  ssize_t n;
  do {
    n = ::read(fd.get(), buf, sizeof buf);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail_errno(fmt::format("read sysctl {}", key));
  std::string value(buf, static_cast<size_t>(n));
  while (!value.empty() && (value.back() == '\n' || value.back() == ' ')) value.pop_back();
  return value;
}

Status ensure_sysctl(std::string_view key, std::string_view value) {
  auto now = read_sysctl(key);
  if (!now) return fail(now.error());
  if (*now == value) return {};
  const std::string path = sysctl_path(key);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return fail_errno(fmt::format("set sysctl {}={}", key, value));
  if (::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size()))
    return fail_errno(fmt::format("set sysctl {}={}", key, value));
  return {};
}

}  // namespace podns::sys
