// Mounts for podns's pins. umount2 is the fault point sys.umount (sys/fault.hpp): EBUSY from it
// is the kernel's answer to a mount in use, which a test cannot arrange at will for a lazy
// (MNT_DETACH) unmount; every unmount here goes through it.
//
// Mounts by fd. A pin is mounted onto the file podns created and unmounted through the fd it
// checked, never through what its path names by the time the syscall runs (someone with write
// access to the pin dir could swap a symlink or another file in between). The new mount API
// (open_tree/move_mount, Linux 5.2) needs no fallback: podns already requires statx's
// STATX_ATTR_MOUNT_ROOT and STATX_MNT_ID (5.8).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "podns/error.hpp"
#include "podns/fd.hpp"

namespace podns::sys {

// umount2(2) and mount(2) behind their fault points (sys.umount, sys.mount). Same contract as
// the system calls. Not for a child cloned from a threaded parent (see fault.hpp): those call the
// kernel directly.
int umount2(const char* target, int flags);
int mount(const char* source, const char* target, const char* fstype, unsigned long flags, const void* data);

// What a file descriptor or a directory entry refers to (statx), with the mount it is seen on.
struct NodeInfo {
  dev_t dev = 0;
  ino_t ino = 0;
  mode_t mode = 0;
  uint64_t size = 0;
  uint64_t mnt_id = 0;      // the mount it was reached through
  bool mount_root = false;  // the root of that mount (something is mounted here)

  bool same_node(const NodeInfo& o) const noexcept { return dev == o.dev && ino == o.ino; }
  // The same inode through the same mount: the same layer of a stack of mounts.
  bool same_layer(const NodeInfo& o) const noexcept { return same_node(o) && mnt_id == o.mnt_id; }
};

// What `fd` is open on (O_PATH fds included).
[[nodiscard]] Result<NodeInfo> node_info(FdView fd);
// `name` in the directory `dir`, not following a final symlink; crossing into whatever is mounted
// there, as a path lookup does.
[[nodiscard]] Result<NodeInfo> node_info_at(FdView dir, const std::string& name);

// open_tree(OPEN_TREE_CLONE): a new bind mount of `source` (a path; symlinks and /proc magic
// links such as /proc/self/fd/N are followed), attached nowhere yet. Closing it undoes it.
[[nodiscard]] Result<UniqueFd> clone_mount(const std::string& source);

// move_mount: attach the detached mount `tree` onto the file or directory `target` is open on.
// The fd `tree` then refers to the attached mount's root.
[[nodiscard]] Status attach_mount(FdView tree, FdView target);

// umount2 (the wrapper above) of the mount whose root `mount_root` is open on, reached through
// /proc/self/fd/N: the kernel unmounts that very mount, whatever is at its path now. Returns 0 or
// the errno, so that the caller words the error: EINVAL, it is no longer mounted in our mount
// namespace; EBUSY, in use.
[[nodiscard]] int unmount_fd(FdView mount_root, int flags);

}  // namespace podns::sys
