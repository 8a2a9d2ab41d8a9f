// Pin primitives: the shared pin directory, bind, remove, liveness and stale leftovers.
#include "podns/pin.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <thread>

#include <fmt/format.h>

#include "podns/make_dirs.hpp"
#include "sys/mount.hpp"
#include "sys/nsfs.hpp"

namespace podns {
namespace {

// Is `path` the root of a mount? statx reports it directly (Linux 5.8+).
bool is_mount_root(const std::string& path) {
  struct statx stx {};
  if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) < 0) return false;
  return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

bool has_dotdot(std::string_view path) {
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    if (path.substr(pos, end - pos) == "..") return true;
    pos = end + 1;
  }
  return false;
}


enum class PinCheck { absent, present };

// The path rules of remove_pin and remove_if_stale: no "..", no symlink, no directory, and the
// containing directory must be `base_dir` itself (after resolving both).
Result<PinCheck> check_pin_path(const std::string& pin_path, const std::string& base_dir, struct stat& st) {
  if (has_dotdot(pin_path))
    return fail(Errc::outside_base_dir, fmt::format("{}: contains \"..\"", pin_path));
  auto slash = pin_path.find_last_of('/');
  std::string parent = slash == std::string::npos ? "." : pin_path.substr(0, slash == 0 ? 1 : slash);
  // The same directory, by identity: two stats where realpath() readlinks every component.
  struct stat base {}, dir {};
  if (::stat(base_dir.c_str(), &base) < 0 && errno == ENOENT) return PinCheck::absent;  // no base dir: no pins
  if (::stat(parent.c_str(), &dir) < 0) {
    if (errno == ENOENT) return PinCheck::absent;
    return fail_errno(pin_path);
  }
  if (dir.st_dev != base.st_dev || dir.st_ino != base.st_ino)
    return fail(Errc::outside_base_dir, fmt::format("{}: not in {}", pin_path, base_dir));
  if (::lstat(pin_path.c_str(), &st) < 0) {
    if (errno == ENOENT) return PinCheck::absent;
    return fail_errno(pin_path);
  }
  if (S_ISLNK(st.st_mode)) return fail(Errc::outside_base_dir, fmt::format("{}: is a symlink", pin_path));
  if (S_ISDIR(st.st_mode))
    return fail(Errc::not_a_namespace, fmt::format("{}: is a directory, not a pin", pin_path));
  return PinCheck::present;
}

void short_sleep(int attempt) { std::this_thread::sleep_for(std::chrono::milliseconds(5 << attempt)); }
constexpr int kBusyRetries = 5;  // 5+10+20+40+80 ms: outlasts a concurrent `ip netns exec` setup

}  // namespace

Status prepare_pin_dir(const std::string& dir) {
  if (auto st = make_dirs(dir, 0755); !st) return fail_with(st, "prepare pin dir");
  // Fast path, as `ip netns add`: already a mount point, so (re)mark it shared and be done.
  if (::mount("", dir.c_str(), nullptr, MS_SHARED, nullptr) == 0) return {};
  if (errno != EINVAL) return fail_errno(fmt::format("prepare pin dir: make {} shared", dir));

  // First use: serialize with other podns (and ip netns) processes doing the same, so concurrent
  // first uses do not stack several self-mounts.
  UniqueFd lock(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!lock) return fail_errno("prepare pin dir: open " + dir);
  while (::flock(lock.get(), LOCK_EX) < 0)
    if (errno != EINTR) return fail_errno("prepare pin dir: flock " + dir);
  if (is_mount_root(dir)) {
    if (::mount("", dir.c_str(), nullptr, MS_SHARED, nullptr) < 0)
      return fail_errno(fmt::format("prepare pin dir: make {} shared", dir));
    return {};
  }
  // Self bind, then private (leave the parent's peer group: pins must not propagate all over the
  // host), then shared (a new peer group: copies of this dir in other mount namespaces see unmounts).
  if (::mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
    return fail_errno(fmt::format("prepare pin dir: bind {} on itself", dir));
  if (::mount("", dir.c_str(), nullptr, MS_PRIVATE, nullptr) < 0 ||
      ::mount("", dir.c_str(), nullptr, MS_SHARED, nullptr) < 0) {
    int err = errno;
    ::umount2(dir.c_str(), MNT_DETACH);
    return fail_errno(err, fmt::format("prepare pin dir: make {} a shared mount", dir));
  }
  return {};
}

Status bind_pin(const std::string& source, const std::string& pin_path) {
  std::string what = fmt::format("pin {} at {}", source, pin_path);
  UniqueFd file(::open(pin_path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444));
  if (!file) {
    if (errno == EEXIST) return fail(Errc::already_exists, what);
    return fail_errno(what + ": create");
  }
  // Held until the mount is in place: tells remove_if_stale this empty file is no leftover.
  // Without it a concurrent remove_if_stale may take our fresh file for a crashed pinner's and
  // unlink it under the mount. A fresh O_EXCL file can be locked only by such a remover: give up.
  if (::flock(file.get(), LOCK_EX | LOCK_NB) < 0) {
    int err = errno;
    ::unlink(pin_path.c_str());
    return fail_errno(err, what + ": lock the new pin file");
  }
  if (::mount(source.c_str(), pin_path.c_str(), nullptr, MS_BIND, nullptr) < 0) {
    int err = errno;
    ::unlink(pin_path.c_str());
    return fail_errno(err, what + ": bind mount");
  }
  return {};
}

Result<bool> pin_is_live(const std::string& pin_path) {
  struct statfs sfs {};
  if (::statfs(pin_path.c_str(), &sfs) < 0) {
    if (errno == ENOENT) return false;
    return fail_errno("statfs " + pin_path);
  }
  return static_cast<long>(sfs.f_type) == sys::kNsfsMagic;
}

Status remove_pin(const std::string& pin_path, const std::string& base_dir) {
  std::string what = "remove pin " + pin_path;
  struct stat st {};
  auto check = check_pin_path(pin_path, base_dir, st);
  if (!check) return fail_with(check, what);
  if (*check == PinCheck::absent) return {};
  auto live = pin_is_live(pin_path);
  if (!live) return fail_with(live, what);
  if (!*live && st.st_size != 0)
    return fail(Errc::not_a_namespace, what + ": not a pin (a non-empty file with no namespace mounted)");

  // Unmount every layer (a pin bound twice stacks) until the path is no mount point any more
  // (EINVAL), then unlink the empty file below.
  int attempt = 0;
  for (int layers = 0; *live && layers < 16;) {
    if (sys::umount2(pin_path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) {
      ++layers;
      continue;
    }
    if (errno == EINVAL || errno == ENOENT) break;
    if (errno == EBUSY && attempt < kBusyRetries) {
      short_sleep(attempt++);
      continue;
    }
    return fail_errno(what + ": unmount");
  }
  for (attempt = 0;; ++attempt) {
    if (::unlink(pin_path.c_str()) == 0 || errno == ENOENT) return {};
    // EBUSY: the file is still a mount point in our mount namespace: something that is no
    // namespace was mounted over the pin. (A mount of it in another mount namespace does not
    // block unlink since Linux 3.18; the kernel detaches those lazily.)
    if (errno != EBUSY || attempt >= kBusyRetries) break;
    short_sleep(attempt);
  }
  if (errno == EBUSY) return fail_errno(EBUSY, what + ": something else is mounted on it (unlink)");
  return fail_errno(what + ": unlink");
}

Result<bool> remove_if_stale(const std::string& pin_path, const std::string& base_dir) {
  std::string what = "clean stale pin " + pin_path;
  struct stat st {};
  auto check = check_pin_path(pin_path, base_dir, st);
  if (!check) return fail_with(check, what);
  if (*check == PinCheck::absent) return false;
  UniqueFd fd(::open(pin_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
  if (!fd) {
    if (errno == ENOENT) return false;
    return fail_errno(what + ": open");
  }
  auto magic = sys::fs_magic(fd.view());
  if (!magic) return fail_with(magic, what);
  if (*magic == sys::kNsfsMagic) return false;  // live
  struct stat fst {};
  if (::fstat(fd.get(), &fst) < 0) return fail_errno(what + ": fstat");
  if (!S_ISREG(fst.st_mode) || fst.st_size != 0)
    return fail(Errc::not_a_namespace, what + ": not a pin (not an empty file)");
  // A pinner between create and mount holds this lock: not stale, just young.
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) return false;
  // Still the same unmounted file under that name?
  struct stat now {};
  if (::stat(pin_path.c_str(), &now) < 0 || now.st_dev != fst.st_dev || now.st_ino != fst.st_ino) return false;
  if (::unlink(pin_path.c_str()) < 0 && errno != ENOENT) return fail_errno(what + ": unlink");
  return true;
}

}  // namespace podns
