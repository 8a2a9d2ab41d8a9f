// ChildProcess: kill/reap/wait through the pidfd, with pid-based fallbacks marked as such.
#include "podns/process.hpp"
#include "sys/pidfd.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

namespace podns {
namespace {

int pidfd_send_signal_raw(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

int exit_code_of(const siginfo_t& info) {
  if (info.si_code == CLD_EXITED) return info.si_status;
  return 128 + info.si_status;  // CLD_KILLED / CLD_DUMPED
}

}  // namespace

Result<UniqueFd> pidfd_open(pid_t pid) {
  // pidfds are always close-on-exec.
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) {
    if (errno == ENOSYS) return fail(Errc::unsupported, "pidfd_open (kernel older than 5.3)");
    return fail_errno(fmt::format("pidfd_open {}", pid));
  }
  return UniqueFd(fd);
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && exit_code_ < 0) (void)kill_and_wait();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::move(other.pidfd_);
    exit_code_ = std::exchange(other.exit_code_, -1);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && exit_code_ < 0) (void)kill_and_wait();
}

Result<std::optional<int>> ChildProcess::try_wait() {
  if (pid_ <= 0) return fail(Errc::invalid_argument, "wait: no process");
  if (exit_code_ >= 0) return exit_code_;
  siginfo_t info{};
  for (;;) {
    int r = pidfd_ ? ::waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info, WEXITED | WNOHANG)
                   : ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG);  // fallback: no pidfd
    if (r == 0) break;
    if (errno == EINTR) continue;
    return fail_errno(fmt::format("wait for process {}", pid_));
  }
  if (info.si_pid == 0) return std::nullopt;
  exit_code_ = exit_code_of(info);
  return exit_code_;
}

Result<int> ChildProcess::wait() {
  if (pid_ <= 0) return fail(Errc::invalid_argument, "wait: no process");
  if (exit_code_ >= 0) return exit_code_;
  siginfo_t info{};
  for (;;) {
    int r = pidfd_ ? ::waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info, WEXITED)
                   : ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED);
    if (r == 0) break;
    if (errno == EINTR) continue;
    return fail_errno(fmt::format("wait for process {}", pid_));
  }
  exit_code_ = exit_code_of(info);
  return exit_code_;
}

TerminalSignalsIgnored::TerminalSignalsIgnored() {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGINT, &ignore, &old_int_);
  ::sigaction(SIGQUIT, &ignore, &old_quit_);
}

TerminalSignalsIgnored::~TerminalSignalsIgnored() {
  ::sigaction(SIGINT, &old_int_, nullptr);
  ::sigaction(SIGQUIT, &old_quit_, nullptr);
}

Status ChildProcess::signal(int sig) {
  if (pid_ <= 0) return fail(Errc::invalid_argument, "signal: no process");
  if (exit_code_ >= 0) return fail(Errc::process_exited, fmt::format("signal process {}", pid_));
  int r = pidfd_ ? pidfd_send_signal_raw(pidfd_.get(), sig)
                 : ::kill(pid_, sig);  // fallback: safe only because we have not reaped it
  if (r < 0) {
    if (errno == ESRCH) return fail(Errc::process_exited, fmt::format("signal process {}", pid_));
    return fail_errno(fmt::format("signal process {}", pid_));
  }
  return {};
}

Result<bool> ChildProcess::alive() const {
  if (pid_ <= 0 || exit_code_ >= 0) return false;
  if (pidfd_) {
    auto alive = sys::pidfd_is_alive(pidfd_.view());
    if (!alive) return fail_with(alive, fmt::format("check process {}", pid_));
    return *alive;
  }
  // Fallback without pidfd: peek at the exit state without reaping it.
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) < 0)
    return fail_errno(fmt::format("check process {}", pid_));
  return info.si_pid == 0;
}

Result<int> ChildProcess::kill_and_wait() {
  if (pid_ <= 0) return fail(Errc::invalid_argument, "kill: no process");
  if (exit_code_ >= 0) return exit_code_;
  if (auto s = signal(SIGKILL); !s && !s.error().is(Errc::process_exited)) return fail(s.error());
  return wait();
}

pid_t ChildProcess::detach() noexcept {
  pidfd_.reset();
  exit_code_ = -1;
  return std::exchange(pid_, -1);
}

}  // namespace podns
