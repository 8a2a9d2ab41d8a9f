#include "sys/mount.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>

#include <fmt/format.h>

#include "sys/fault.hpp"

namespace podns::sys {
namespace {

Result<NodeInfo> from_statx(int dirfd, const char* path, int flags, std::string_view what) {
  struct statx stx {};
  if (::statx(dirfd, path, flags, STATX_BASIC_STATS | STATX_MNT_ID, &stx) < 0)
    return fail_errno(fmt::format("statx {}", what));
  NodeInfo n;
  n.dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
  n.ino = stx.stx_ino;
  n.mode = stx.stx_mode;
  n.size = stx.stx_size;
  if (!(stx.stx_mask & STATX_MNT_ID))
    return fail(Errc::unsupported, fmt::format("statx {}: no mount id (Linux 5.8)", what));
  n.mnt_id = stx.stx_mnt_id;
  n.mount_root = (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
  return n;
}

}  // namespace

int umount2(const char* target, int flags) {
  if (int err = fault::injected_error(fault::kUmount)) {
    errno = err;
    return -1;
  }
  return ::umount2(target, flags);
}

int mount(const char* source, const char* target, const char* fstype, unsigned long flags, const void* data) {
  if (int err = fault::injected_error(fault::kMount)) {
    errno = err;
    return -1;
  }
  return ::mount(source, target, fstype, flags, data);
}

Result<NodeInfo> node_info(FdView fd) {
  return from_statx(fd.get(), "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, fmt::format("fd {}", fd.get()));
}

Result<NodeInfo> node_info_at(FdView dir, const std::string& name) {
  return from_statx(dir.get(), name.c_str(), AT_SYMLINK_NOFOLLOW, name);
}

Result<UniqueFd> clone_mount(const std::string& source) {
  int fd = ::open_tree(AT_FDCWD, source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (fd < 0) return fail_errno("open_tree " + source);
  return UniqueFd(fd);
}

Status attach_mount(FdView tree, FdView target) {
  if (::move_mount(tree.get(), "", target.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return fail_errno("move_mount");
  return {};
}

int unmount_fd(FdView mount_root, int flags) {
  // Not UMOUNT_NOFOLLOW: the magic link must be followed to the mount it stands for.
  std::string path = fmt::format("/proc/self/fd/{}", mount_root.get());
  return umount2(path.c_str(), flags & ~UMOUNT_NOFOLLOW) < 0 ? errno : 0;
}

}  // namespace podns::sys
