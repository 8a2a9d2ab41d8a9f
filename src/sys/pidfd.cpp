#include "sys/pidfd.hpp"
#include "sys/proc_status.hpp"

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
  if (::syscall(SYS_pidfd_send_signal, pidfd.get(), 0, nullptr, 0) < 0) {
    if (errno == ESRCH) return false;
    if (errno != EPERM) return fail_errno("pidfd_send_signal 0");
    // EPERM: alive but not ours to signal; fall through to the zombie check below.
  }
  // Signal 0 succeeds for a zombie, whose namespaces are already gone. A pidfd's fdinfo names
  // the PID, -1 once the process has been reaped; /proc/PID/stat tells a zombie.
  std::string fdinfo_path = fmt::format("/proc/self/fdinfo/{}", pidfd.get());
  auto info = read_proc_file(fdinfo_path);
  if (!info) return fail_with(info, "check a pidfd");
  auto pid = status_number<long>(*info, "Pid");
  // No Pid line: nothing tells this process is there; counted as gone, like a reaped one (-1).
  if (!pid && pid.error().is(Errc::not_found)) return false;
  if (!pid) return fail(std::move(pid.error()).context(fdinfo_path));
  if (*pid <= 0) return false;
  auto text = read_proc_file(fmt::format("/proc/{}/stat", *pid));
  if (!text) return false;
  std::string_view stat = *text;
  auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return false;
  char state = stat[close + 2];
  return state != 'Z' && state != 'X';
}

}  // namespace podns::sys
