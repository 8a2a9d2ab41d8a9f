// Pin primitives: the shared pin directory, bind, remove, liveness and stale leftovers. Every
// step after the first lookup works on fds (the pin dir's, the pin file's, the mount's), so a path
// swapped under us is never the thing mounted, unmounted or unlinked.
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
#include <optional>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "ns/pin_internal.hpp"
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

// A pin named by its directory, open, and its name in it: every step after the open works on the
// directory's fd (openat, unlinkat), so a directory swapped in by path halfway is never touched.
struct PinLocation {
  UniqueFd dir;
  std::string name;
};

std::pair<std::string, std::string> split_path(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return {".", path};
  return {path.substr(0, slash == 0 ? 1 : slash), path.substr(slash + 1)};
}

Result<UniqueFd> open_dir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return fail_errno("open " + dir);
  return fd;
}

// The path rules of remove_pin and remove_if_stale: no "..", a name (not a directory path), and
// the containing directory must be `base_dir` itself (the same inode: no realpath() walk).
// nullopt when the directory is absent (no pins there).
Result<std::optional<PinLocation>> open_pin_location(const std::string& pin_path, const std::string& base_dir) {
  if (has_dotdot(pin_path))
    return fail(Errc::outside_base_dir, fmt::format("{}: contains \"..\"", pin_path));
  auto [parent, name] = split_path(pin_path);
  if (name.empty() || name == ".")
    return fail(Errc::not_a_namespace, fmt::format("{}: is a directory, not a pin", pin_path));
  struct stat base {};
  if (::stat(base_dir.c_str(), &base) < 0) {
    if (errno == ENOENT) return std::nullopt;  // no base dir: no pins
    return fail_errno("stat " + base_dir);
  }
  auto dir = open_dir(parent);
  if (!dir) {
    if (dir.error().is(std::errc::no_such_file_or_directory)) return std::nullopt;
    return fail(std::move(dir.error()));
  }
  struct stat st {};
  if (::fstat(dir->get(), &st) < 0) return fail_errno("fstat " + parent);
  if (st.st_dev != base.st_dev || st.st_ino != base.st_ino)
    return fail(Errc::outside_base_dir, fmt::format("{}: not in {}", pin_path, base_dir));
  return PinLocation{std::move(*dir), std::move(name)};
}

// unlinkat `name` in `dir` only while it still names `expected`. Identity is checked just before
// the unlink (no syscall unlinks by inode): a file swapped in by someone with write access to the
// pin dir in that instant could still go, but only ever a file in the pin dir, never a symlink's
// target and never anything elsewhere.
Status unlink_if_same(FdView dir, const std::string& name, const sys::NodeInfo& expected) {
  auto now = sys::node_info_at(dir, name);
  if (!now) return now.error().is(std::errc::no_such_file_or_directory) ? Status{} : fail(std::move(now.error()));
  if (!now->same_layer(expected)) return fail(Errc::busy, name + ": replaced by another file meanwhile, left alone");
  if (::unlinkat(dir.get(), name.c_str(), 0) < 0 && errno != ENOENT) return fail_errno("unlink " + name);
  return {};
}

void short_sleep(int attempt) { std::this_thread::sleep_for(std::chrono::milliseconds(5 << attempt)); }
constexpr int kBusyRetries = 5;  // 5+10+20+40+80 ms: outlasts a concurrent `ip netns exec` setup

}  // namespace

Status prepare_pin_dir(const std::string& dir) {
  if (auto st = make_dirs(dir, 0755); !st) return fail_with(st, "prepare pin dir");
  // Fast path, as `ip netns add`: already a mount point, so (re)mark it shared and be done.
  if (sys::mount("", dir.c_str(), nullptr, MS_SHARED, nullptr) == 0) return {};
  if (errno != EINVAL) return fail_errno(fmt::format("prepare pin dir: make {} shared", dir));

  // First use: serialize with other podns (and ip netns) processes doing the same, so concurrent
  // first uses do not stack several self-mounts.
  UniqueFd lock(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!lock) return fail_errno("prepare pin dir: open " + dir);
  while (::flock(lock.get(), LOCK_EX) < 0)
    if (errno != EINTR) return fail_errno("prepare pin dir: flock " + dir);
  if (is_mount_root(dir)) {
    if (sys::mount("", dir.c_str(), nullptr, MS_SHARED, nullptr) < 0)
      return fail_errno(fmt::format("prepare pin dir: make {} shared", dir));
    return {};
  }
  // Self bind, then private (leave the parent's peer group: pins must not propagate all over the
  // host), then shared (a new peer group: copies of this dir in other mount namespaces see unmounts).
  if (sys::mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
    return fail_errno(fmt::format("prepare pin dir: bind {} on itself", dir));
  if (sys::mount("", dir.c_str(), nullptr, MS_PRIVATE, nullptr) < 0 ||
      sys::mount("", dir.c_str(), nullptr, MS_SHARED, nullptr) < 0) {
    int err = errno;
    sys::umount2(dir.c_str(), MNT_DETACH);
    return fail_errno(err, fmt::format("prepare pin dir: make {} a shared mount", dir));
  }
  return {};
}

Status detail::bind_pin_with_hook(const std::string& source, const std::string& pin_path,
                                 const std::function<void()>& after_create) {
  std::string what = fmt::format("pin {} at {}", source, pin_path);
  auto [parent, name] = split_path(pin_path);
  if (name.empty() || name == "." || name == "..")
    return fail(Errc::invalid_argument, what + ": not a file name");
  auto dir = open_dir(parent);
  if (!dir) return fail_with(dir, what);
  UniqueFd file(::openat(dir->get(), name.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444));
  if (!file) {
    if (errno == EEXIST) return fail(Errc::already_exists, what);
    return fail_errno(what + ": create");
  }
  auto created = sys::node_info(file.view());
  if (!created) return fail_with(created, what);
  // Held until the mount is in place: tells remove_if_stale this empty file is no leftover.
  // Without it a concurrent remove_if_stale may take our fresh file for a crashed pinner's and
  // unlink it under the mount. A fresh O_EXCL file can be locked only by such a remover: give up.
  if (::flock(file.get(), LOCK_EX | LOCK_NB) < 0) {
    int err = errno;
    (void)unlink_if_same(dir->view(), name, *created);
    return fail_errno(err, what + ": lock the new pin file");
  }
  if (after_create) after_create();
  // Onto the file just created, by fd: a symlink or another file swapped in under its name since
  // is never mounted over. An unlinked file refuses the mount (ENOENT).
  auto tree = sys::clone_mount(source);
  Status attached = tree ? sys::attach_mount(tree->view(), file.view()) : Status(fail(std::move(tree.error())));
  if (!attached) {
    (void)unlink_if_same(dir->view(), name, *created);
    return fail_with(attached, what + ": bind mount");
  }
  // The mount sits on our file; is our file still the one the name leads to? Renamed away (a
  // mount point cannot be renamed, but the file could be before the mount): take the mount off
  // again and leave the name to whoever has it now.
  auto mounted = sys::node_info(tree->view());
  auto at_name = sys::node_info_at(dir->view(), name);
  if (!mounted || !at_name || !at_name->same_layer(*mounted)) {
    (void)sys::unmount_fd(tree->view(), MNT_DETACH);
    (void)unlink_if_same(dir->view(), name, *created);  // only if the name still leads to our file
    return fail(Errc::busy, what + ": the pin file was moved or replaced while it was being pinned");
  }
  return {};
}

Status bind_pin(const std::string& source, const std::string& pin_path) {
  return detail::bind_pin_with_hook(source, pin_path, {});
}

Result<bool> pin_is_live(const std::string& pin_path) {
  struct statfs sfs {};
  if (::statfs(pin_path.c_str(), &sfs) < 0) {
    if (errno == ENOENT) return false;
    return fail_errno("statfs " + pin_path);
  }
  return static_cast<long>(sfs.f_type) == sys::kNsfsMagic;
}

Status detail::remove_pin_with_hook(const std::string& pin_path, const std::string& base_dir,
                                   const std::function<void()>& before_unmount) {
  std::string what = "remove pin " + pin_path;
  auto loc = open_pin_location(pin_path, base_dir);
  if (!loc) return fail_with(loc, what);
  if (!*loc) return {};
  FdView dir = (*loc)->dir.view();
  const std::string& name = (*loc)->name;

  // Peel the stack at `name` from the top, one layer per round: each round opens what the name
  // leads to now (O_PATH, not following a symlink), classifies that fd, and acts on that same fd.
  // A namespace is unmounted through its fd, so a pin swapped for something else after the check
  // is never what gets unmounted; the empty file at the bottom is unlinked only while it is still
  // the file that was checked.
  int busy_attempt = 0, layers = 0;
  bool hook_ran = false;
  // Every round either removes a layer or finds the name changed under it; a name that keeps
  // changing is someone racing us on purpose.
  for (int round = 0;; ++round) {
    if (round > 64) return fail(Errc::busy, what + ": the pin keeps changing under its name");
    UniqueFd top(::openat(dir.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!top) {
      if (errno == ENOENT) return {};
      return fail_errno(what + ": open");
    }
    auto info = sys::node_info(top.view());
    if (!info) return fail_with(info, what);
    if (S_ISLNK(info->mode)) return fail(Errc::outside_base_dir, fmt::format("{}: is a symlink", what));
    if (S_ISDIR(info->mode)) return fail(Errc::not_a_namespace, fmt::format("{}: is a directory, not a pin", what));
    auto magic = sys::fs_magic(top.view());
    if (!magic) return fail_with(magic, what);

    if (*magic == sys::kNsfsMagic && info->mount_root) {
      // A pin bound twice stacks; more layers than this is someone binding in a loop.
      if (layers >= 16) return fail(Errc::busy, what + ": more than 16 namespaces mounted on it");
      if (before_unmount && !hook_ran) {
        hook_ran = true;
        before_unmount();
      }
      // MNT_DETACH takes whatever is mounted on top of this layer with it: if the top changed since
      // the fd was opened (something stacked on the pin), look again instead.
      auto now = sys::node_info_at(dir, name);
      if (!now || !now->same_layer(*info)) continue;
      int err = sys::unmount_fd(top.view(), MNT_DETACH);
      if (err == 0) {
        ++layers;
        continue;
      }
      auto after = sys::node_info_at(dir, name);
      bool still_there = after && after->same_layer(*info);
      // EINVAL: no longer mounted here (someone else removed it meanwhile): look again.
      if (err == EINVAL && !still_there) continue;
      // EBUSY: in use for a moment (a concurrent `ip netns exec` setting up): retried briefly.
      if (err == EBUSY && busy_attempt < kBusyRetries) {
        short_sleep(busy_attempt++);
        continue;
      }
      // Anything else: a mount we may not unmount (locked into a less privileged mount namespace).
      return fail_errno(err, what + ": unmount");
    }
    if (info->mount_root) {
      // Something that is no namespace is mounted on the pin in our mount namespace. (A copy of
      // the pin in another mount namespace does not block unlink since Linux 3.18; the kernel
      // detaches those lazily.) Retried briefly: it may be on its way out.
      if (busy_attempt < kBusyRetries) {
        short_sleep(busy_attempt++);
        continue;
      }
      return fail_errno(EBUSY, what + ": something else is mounted on it");
    }
    if (!S_ISREG(info->mode) || info->size != 0)
      return fail(Errc::not_a_namespace, what + ": not a pin (a non-empty file with no namespace mounted)");
    // The empty file below the pin, or a stale leftover.
    auto st = unlink_if_same(dir, name, *info);
    if (!st) {
      if (st.error().is(Errc::busy)) continue;  // replaced meanwhile: classify the newcomer
      return fail_with(st, what);
    }
    return {};
  }
}

Status remove_pin(const std::string& pin_path, const std::string& base_dir) {
  return detail::remove_pin_with_hook(pin_path, base_dir, {});
}

Result<bool> remove_if_stale(const std::string& pin_path, const std::string& base_dir) {
  std::string what = "clean stale pin " + pin_path;
  auto loc = open_pin_location(pin_path, base_dir);
  if (!loc) return fail_with(loc, what);
  if (!*loc) return false;
  FdView dir = (*loc)->dir.view();
  const std::string& name = (*loc)->name;
  UniqueFd fd(::openat(dir.get(), name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
  if (!fd) {
    if (errno == ENOENT) return false;
    if (errno == ELOOP) return fail(Errc::outside_base_dir, fmt::format("{}: is a symlink", what));
    return fail_errno(what + ": open");
  }
  auto magic = sys::fs_magic(fd.view());
  if (!magic) return fail_with(magic, what);
  if (*magic == sys::kNsfsMagic) return false;  // live
  auto info = sys::node_info(fd.view());
  if (!info) return fail_with(info, what);
  if (S_ISDIR(info->mode)) return fail(Errc::not_a_namespace, fmt::format("{}: is a directory, not a pin", what));
  if (!S_ISREG(info->mode) || info->size != 0)
    return fail(Errc::not_a_namespace, what + ": not a pin (not an empty file)");
  if (info->mount_root) return false;  // something is mounted on it: not a leftover
  // A pinner between create and mount holds this lock: not stale, just young.
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) return false;
  auto st = unlink_if_same(dir, name, *info);
  if (!st) return st.error().is(Errc::busy) ? Result<bool>(false) : fail_with(st, what);
  return true;
}

}  // namespace podns
