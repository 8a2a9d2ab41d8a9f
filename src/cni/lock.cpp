#include "lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "podns/make_dirs.hpp"

namespace podns::cni {

Result<FileLock> FileLock::acquire(const std::string& path, bool exclusive) {
  auto slash = path.rfind('/');
  if (slash != std::string::npos) {
    // Parent dirs: <cache>/podns-locks; the cache dir itself may not exist yet.
    if (auto st = make_dirs(path.substr(0, slash), 0700); !st) return fail_with(st, "open lock " + path);
  }
  for (;;) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) return fail_errno("open lock " + path);
    int r;
    while ((r = ::flock(fd.get(), exclusive ? LOCK_EX : LOCK_SH)) < 0 && errno == EINTR) {
    }
    if (r < 0) return fail_errno("lock " + path);
    struct stat a {}, b {};
    if (::fstat(fd.get(), &a) < 0) return fail_errno("stat lock " + path);
    if (::stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
      FileLock l;
      l.fd_ = std::move(fd);
      l.path_ = path;
      return l;
    }
    // The holder before us removed the file: our lock is on an orphan inode. Try again.
  }
}

void FileLock::unlink_file() {
  if (fd_) ::unlink(path_.c_str());
}

}  // namespace podns::cni
