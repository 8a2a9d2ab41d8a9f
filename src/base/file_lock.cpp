#include "podns/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "podns/make_dirs.hpp"

namespace podns {
namespace {

int flock_op(FileLock::Mode mode) { return (mode == FileLock::Mode::shared ? LOCK_SH : LOCK_EX) | LOCK_NB; }

// Whether `fd` is the file `path` names now (a lock on an unlinked or replaced file counts for
// nobody who opens the path). 0: it is; otherwise the errno of a failed fstat, or -1.
int names_other_file(int fd, const std::string& path) {
  struct stat held {}, named {};
  if (::fstat(fd, &held) != 0) return errno;
  if (::stat(path.c_str(), &named) == 0 && named.st_dev == held.st_dev && named.st_ino == held.st_ino) return 0;
  return -1;
}

}  // namespace

Result<FileLock> FileLock::acquire(const std::string& path, Mode mode, std::chrono::milliseconds timeout) {
  auto doing = fmt::format("lock {}", path);
  // Lock files name pods and attachments; their directory is podns's alone.
  if (auto st = make_dirs(std::filesystem::path(path).parent_path().string(), 0700); !st) return fail_with(st, doing);
  int op = flock_op(mode);
  // flock has no timed wait; poll with a short backoff. The common case (uncontended) takes one call.
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto nap = std::chrono::milliseconds(1);
  for (;;) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) return fail_errno(doing);
    for (;;) {
      if (::flock(fd.get(), op) == 0) break;
      if (errno == EINTR) continue;
      if (errno != EWOULDBLOCK) return fail_errno(doing);
      if (std::chrono::steady_clock::now() >= deadline)
        return fail(Errc::busy, fmt::format("{}: held by another podns operation", doing));
      std::this_thread::sleep_for(nap);
      nap = std::min(nap * 2, std::chrono::milliseconds(50));
    }
    // The holder we waited for may have unlinked the file (unlink_and_release): our lock is then on
    // an orphaned inode that a newcomer no longer sees. Only a lock on the file the path names now
    // counts; otherwise start over with the new file.
    int other = names_other_file(fd.get(), path);
    if (other > 0) return fail_errno(other, doing);
    if (other == 0) return FileLock(std::move(fd), path);
  }
}

Result<FileLock> FileLock::adopt(int fd, const std::string& path) {
  auto doing = fmt::format("adopt the lock fd {} on {}", fd, path);
  int other = names_other_file(fd, path);
  if (other > 0) return fail_errno(other, doing);
  if (other < 0) return fail(Errc::invalid_argument, fmt::format("fd {} is not {}", fd, path));
  UniqueFd own(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
  if (!own) return fail_errno(doing);
  ::close(fd);
  return FileLock(std::move(own), path);
}

Status FileLock::try_change(Mode mode) {
  auto doing = fmt::format("lock {}", path_);
  if (!fd_) return fail(Errc::invalid_argument, doing + ": not held");
  int op = flock_op(mode);
  for (;;) {
    if (::flock(fd_.get(), op) == 0) return {};
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return fail(Errc::busy, fmt::format("{}: held by another podns process", doing));
    return fail_errno(doing);
  }
}

void FileLock::unlink_and_release() {
  if (!fd_) return;
  // While we hold the lock nobody else can hold it; waiters re-check the inode after they get it.
  ::unlink(path_.c_str());
  fd_.reset();
}

}  // namespace podns
