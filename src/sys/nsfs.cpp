#include "sys/nsfs.hpp"

#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>

#include <cerrno>

#include "sys/fault.hpp"

namespace podns::sys {

int setns(int fd, int nstype) {
  if (int err = fault::injected_error(fault::kSetns)) {
    errno = err;
    return -1;
  }
  return ::setns(fd, nstype);
}

int unshare(int flags) {
  if (int err = fault::injected_error(fault::kUnshare)) {
    errno = err;
    return -1;
  }
  return ::unshare(flags);
}

Result<long> fs_magic(FdView fd) {
  struct statfs sfs {};
  if (::fstatfs(fd.get(), &sfs) < 0) return fail_errno("fstatfs");
  return static_cast<long>(sfs.f_type);
}

Result<int> ns_get_type(FdView fd) {
  int t = ::ioctl(fd.get(), NS_GET_NSTYPE);
  if (t < 0) return fail_errno("ioctl NS_GET_NSTYPE");
  return t;
}

Result<UniqueFd> ns_get_userns(FdView fd) {
  // The kernel opens the related namespace with O_CLOEXEC.
  int r = ::ioctl(fd.get(), NS_GET_USERNS);
  if (r < 0) return fail_errno("ioctl NS_GET_USERNS");
  return UniqueFd(r);
}

Result<UniqueFd> ns_get_parent(FdView fd) {
  int r = ::ioctl(fd.get(), NS_GET_PARENT);
  if (r < 0) return fail_errno("ioctl NS_GET_PARENT");
  return UniqueFd(r);
}

Result<uid_t> ns_get_owner_uid(FdView fd) {
  uid_t uid = 0;
  if (::ioctl(fd.get(), NS_GET_OWNER_UID, &uid) < 0) return fail_errno("ioctl NS_GET_OWNER_UID");
  return uid;
}

}  // namespace podns::sys
