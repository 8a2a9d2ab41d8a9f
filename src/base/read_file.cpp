#include "podns/read_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "podns/fd.hpp"

namespace podns {

Result<std::string> read_regular_file(const std::string& path, std::size_t max_bytes, Errc bad_file) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) return fail_errno("open " + path);
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) return fail_errno("stat " + path);
  if (!S_ISREG(st.st_mode)) return fail(bad_file, path + ": not a regular file");
  auto too_large = [&] { return fail(bad_file, fmt::format("{}: larger than {} bytes", path, max_bytes)); };
  if (static_cast<std::size_t>(st.st_size) > max_bytes) return too_large();
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("read " + path);
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > max_bytes) return too_large();  // it grew while we read
  }
  return out;
}

}  // namespace podns
