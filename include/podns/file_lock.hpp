// flock(2) on a file: shared or exclusive, with a bounded wait. Each lock is its own open file
// description, so it excludes threads of one process as it excludes processes, and it dies with
// the process (which is how recovery tells a crashed operation from one in progress). The one file
// lock of podns: the state's pod and global locks, the CNI runtime's attachment and network locks,
// the host plane's firewall lock, the id allocator's lock and the rootless session's locks are all
// this.
#pragma once

#include <chrono>
#include <string>

#include "podns/error.hpp"
#include "podns/fd.hpp"

namespace podns {

class FileLock {
 public:
  enum class Mode { shared, exclusive };

  // Creates the file (0600) and its directory (0700) as needed. Blocks up to `timeout`
  // (Errc::busy after it); a zero timeout tries once. A file its previous holder unlinked is
  // noticed (the fd's inode no longer is the path's) and the path opened again.
  [[nodiscard]] static Result<FileLock> acquire(const std::string& path, Mode mode,
                                                std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // The lock this process holds on `path` through `fd`, handed across an exec: checked to be that
  // file (Errc::invalid_argument otherwise, and `fd` is left alone), then owned, as a new
  // close-on-exec fd (`fd` is closed).
  [[nodiscard]] static Result<FileLock> adopt(int fd, const std::string& path);
  FileLock() = default;
  bool held() const { return static_cast<bool>(fd_); }
  // Hand the fd out, still locking, to pass it across an exec (adopt takes it back); the
  // FileLock is then empty.
  [[nodiscard]] int release_fd() { return fd_.release(); }
  // Change the mode of a held lock without waiting; Errc::busy when another holder is in the way.
  // flock(2) converts by dropping the old lock first, so after a failure the lock may be gone:
  // the caller gives it up either way.
  [[nodiscard]] Status try_change(Mode mode);
  const std::string& path() const { return path_; }
  void release() { fd_.reset(); }
  // Remove the lock file, then release: for what no longer exists (a pod, an attachment), so lock
  // files do not pile up. Safe against waiters, who check after locking that the path still names
  // the file they locked.
  void unlink_and_release();

 private:
  FileLock(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;
};

}  // namespace podns
