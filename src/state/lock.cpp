#include "podns/state/lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <fmt/format.h>

namespace podns::state {

Result<FileLock> lock_pod(const std::string& locks_dir, const std::string& pod, std::chrono::milliseconds timeout) {
  return FileLock::acquire(fmt::format("{}/pod-{}.lock", locks_dir, pod), FileLock::Mode::exclusive, timeout);
}

Result<FileLock> lock_global(const std::string& locks_dir, FileLock::Mode mode, std::chrono::milliseconds timeout) {
  return FileLock::acquire(locks_dir + "/global.lock", mode, timeout);
}

bool pod_locked(const std::string& locks_dir, const std::string& pod) {
  UniqueFd fd(::open(fmt::format("{}/pod-{}.lock", locks_dir, pod).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return false;
  // A shared probe conflicts with the exclusive lock of a live operation and with nothing else.
  if (::flock(fd.get(), LOCK_SH | LOCK_NB) == 0) return false;
  return errno == EWOULDBLOCK;
}

}  // namespace podns::state
