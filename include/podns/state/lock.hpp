// Per-pod and global locks: flock(2) on files under Paths::locks_dir().
//
// Every mutating pod operation holds the global lock shared and its pod's lock exclusive, so two
// operations on one pod serialize while operations on distinct pods run in parallel; gc takes the
// global lock exclusive and so excludes them all (CNI SPEC: GC must not run concurrently with ADD
// or DEL). flock locks die with the process, which is how recovery tells a crashed operation (lock
// free, phase still "creating") from one in progress (lock held).
#pragma once

#include <chrono>
#include <string>

#include "podns/error.hpp"
#include "podns/fd.hpp"

namespace podns::state {

class FileLock {
 public:
  enum class Mode { shared, exclusive };

  // Blocks up to `timeout` (Errc::busy after it); a zero timeout tries once.
  [[nodiscard]] static Result<FileLock> acquire(const std::string& path, Mode mode,
                                                std::chrono::milliseconds timeout = std::chrono::seconds(60));
  FileLock() = default;
  bool held() const { return static_cast<bool>(fd_); }
  const std::string& path() const { return path_; }
  void release() { fd_.reset(); }
  // Remove the lock file, then release: for a pod that no longer exists. Safe against waiters, who
  // check after locking that the path still names the file they locked.
  void unlink_and_release();

 private:
  FileLock(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;
};

// <locks_dir>/pod-<name>.lock, exclusive.
[[nodiscard]] Result<FileLock> lock_pod(const std::string& locks_dir, const std::string& pod,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(60));
// <locks_dir>/global.lock: shared for pod operations, exclusive for gc.
[[nodiscard]] Result<FileLock> lock_global(const std::string& locks_dir, FileLock::Mode mode,
                                           std::chrono::milliseconds timeout = std::chrono::seconds(60));
// True when someone holds the pod's lock right now (a live operation on it).
[[nodiscard]] bool pod_locked(const std::string& locks_dir, const std::string& pod);

}  // namespace podns::state
