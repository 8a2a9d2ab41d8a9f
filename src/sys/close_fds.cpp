#include "sys/close_fds.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace podns::sys {

void close_fds(unsigned lo, unsigned hi) noexcept {
  if (lo > hi) return;
  if (::syscall(SYS_close_range, lo, hi, 0u) == 0) return;
  struct rlimit rl {};
  unsigned limit = 65536;
  if (::syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, nullptr, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    limit = static_cast<unsigned>(rl.rlim_cur);
  for (unsigned fd = lo; fd <= hi && fd < limit; ++fd) ::close(static_cast<int>(fd));
}

}  // namespace podns::sys
