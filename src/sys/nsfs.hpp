// Namespaces in the kernel: setns(2) and unshare(2), and nsfs with ioctl_ns(2) (the kernel's view
// of a namespace fd).
#pragma once

#include <sys/types.h>

#include "podns/error.hpp"
#include "podns/fd.hpp"

namespace podns::sys {

// setns(2) and unshare(2) behind their fault points (sys.setns, sys.unshare): a test makes the
// kernel refuse where it will not on demand (a thread that cannot switch back). Same contract as
// the system calls. Not for a child cloned from a threaded parent (see fault.hpp): those call the
// kernel directly.
int setns(int fd, int nstype);
int unshare(int flags);

inline constexpr long kNsfsMagic = 0x6e736673;    // NSFS_MAGIC: a namespace file
inline constexpr long kProcfsMagic = 0x9fa0;      // PROC_SUPER_MAGIC

// The filesystem magic of what `fd` refers to (fstatfs f_type).
[[nodiscard]] Result<long> fs_magic(FdView fd);

// NS_GET_NSTYPE: the CLONE_NEW* flag of the namespace behind `fd`.
[[nodiscard]] Result<int> ns_get_type(FdView fd);
// NS_GET_USERNS: the owning user namespace (a new O_CLOEXEC fd).
[[nodiscard]] Result<UniqueFd> ns_get_userns(FdView fd);
// NS_GET_PARENT: the parent of a pid or user namespace.
[[nodiscard]] Result<UniqueFd> ns_get_parent(FdView fd);
// NS_GET_OWNER_UID: the creator of a user namespace.
[[nodiscard]] Result<uid_t> ns_get_owner_uid(FdView fd);

}  // namespace podns::sys
