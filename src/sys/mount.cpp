#include "sys/mount.hpp"

#include <sys/mount.h>

#include <cerrno>

#include "sys/fault.hpp"

namespace podns::sys {

int umount2(const char* target, int flags) {
  if (int err = fault::injected_error(fault::kUmount)) {
    errno = err;
    return -1;
  }
  return ::umount2(target, flags);
}

}  // namespace podns::sys
