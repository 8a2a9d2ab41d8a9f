// pidfds: a process referred to by fd, so a recycled PID can never be mistaken for it.
#pragma once

#include <sys/types.h>

#include "podns/error.hpp"
#include "podns/fd.hpp"

namespace podns::sys {

// pidfd_open(pid), O_CLOEXEC (the kernel sets it on every pidfd). ESRCH when no such process.
[[nodiscard]] Result<UniqueFd> pidfd_open(pid_t pid);

// Whether the process is still alive: the pidfd does not poll readable yet. A zombie counts as
// gone: its namespaces are released already. The one liveness check of podns (ChildProcess::alive
// uses it too).
[[nodiscard]] Result<bool> pidfd_is_alive(FdView pidfd);

// pidfd_send_signal(pidfd, sig); ESRCH once the process is gone.
[[nodiscard]] Status pidfd_signal(FdView pidfd, int sig);

}  // namespace podns::sys
