#include "podns/state/lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <filesystem>
#include <thread>

#include <fmt/format.h>

namespace podns::state {

Result<FileLock> FileLock::acquire(const std::string& path, Mode mode, std::chrono::milliseconds timeout) {
  auto doing = fmt::format("lock {}", path);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return fail(Error(ec, "create lock directory").context(doing));
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return fail_errno(doing);
  int op = (mode == Mode::shared ? LOCK_SH : LOCK_EX) | LOCK_NB;
  // flock has no timed wait; poll with a short backoff. The common case (uncontended) takes one call.
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto nap = std::chrono::milliseconds(1);
  for (;;) {
    if (::flock(fd.get(), op) == 0) return FileLock(std::move(fd), path);
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) return fail_errno(doing);
    if (std::chrono::steady_clock::now() >= deadline)
      return fail(Errc::busy, fmt::format("{}: held by another podns operation", doing));
    std::this_thread::sleep_for(nap);
    nap = std::min(nap * 2, std::chrono::milliseconds(50));
  }
}

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
