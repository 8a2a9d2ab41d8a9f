#include "podns/write_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <fmt/format.h>

#include "podns/fd.hpp"
#include "sys/io.hpp"

namespace podns {
namespace {

// 0, or the errno of the write that failed.
int write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = sys::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

}  // namespace

Status write_file_atomically(const std::string& path, std::string_view content, const AtomicWrite& how) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.empty()) return fail(Errc::invalid_argument, fmt::format("write {}: not a file name", path));
  // Unique per writer (mkostemp), so concurrent writers of one path never share a temp file.
  std::string tmp = fmt::format("{}/.{}.tmp-XXXXXX", dir, name);
  UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (!fd) return fail_errno(fmt::format("write {}: create {}", path, tmp));
  auto failed = [&](int err, std::string_view step) {
    ::unlink(tmp.c_str());
    return fail_errno(err, fmt::format("write {}: {}", path, step));
  };
  if (int err = write_all(fd.get(), content)) return failed(err, "write");
  if (::fchmod(fd.get(), how.mode) < 0) return failed(errno, "chmod");
  if (::fsync(fd.get()) < 0) return failed(errno, "fsync");
  fd.reset();
  if (how.replace) {
    if (::rename(tmp.c_str(), path.c_str()) < 0) return failed(errno, "rename");
  } else {
    if (::link(tmp.c_str(), path.c_str()) < 0 && errno != EEXIST) return failed(errno, "link");
    ::unlink(tmp.c_str());
  }
  if (how.sync_dir) {
    UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dfd || ::fsync(dfd.get()) < 0) return fail_errno(fmt::format("write {}: fsync {}", path, dir));
  }
  return {};
}

}  // namespace podns
