#include "sys/pidfd.hpp"

#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>
#include <string>

#include <fmt/format.h>

namespace podns::sys {

Result<UniqueFd> pidfd_open(pid_t pid) {
  if (pid <= 0) return fail(Errc::invalid_argument, fmt::format("pidfd_open {}: not a valid PID", pid));
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return fail_errno(fmt::format("pidfd_open {}", pid));
  return UniqueFd(fd);
}

Status pidfd_signal(FdView pidfd, int sig) {
  if (::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) < 0)
    return fail_errno(fmt::format("pidfd_send_signal {}", sig));
  return {};
}

Result<bool> pidfd_is_alive(FdView pidfd) {
  // A pidfd polls readable once its process has exited, zombie or reaped, child of ours or not;
  // pidfd_send_signal(0) would still succeed on a zombie.
  pollfd p{pidfd.get(), POLLIN, 0};
  int r;
  do r = ::poll(&p, 1, 0);
  while (r < 0 && errno == EINTR);
  if (r < 0) return fail_errno("poll a pidfd");
  return r == 0;
}

}  // namespace podns::sys
