// ChildProcess: the one owner of a child process. It holds the pid and a pidfd (a reference to the
// process that can never be confused with a later process reusing the pid), and kills and reaps
// the child in its destructor unless detach() hands it away on purpose.
//
// clone_process() starts a child with clone3(CLONE_PIDFD) where the kernel has it and falls back
// to the classic clone syscall (fork semantics) + pidfd_open otherwise, optionally with
// CLONE_NEW* flags so the child starts life inside fresh namespaces.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <utility>

#include "podns/error.hpp"
#include "podns/fd.hpp"

namespace podns {

class [[nodiscard]] ChildProcess {
 public:
  ChildProcess() = default;
  // Adopt a child of this process. pidfd may be empty (kernels without pidfd_open): then every
  // operation falls back to the pid, which is still safe as long as nobody else reaps it.
  ChildProcess(pid_t pid, UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ChildProcess(ChildProcess&& other) noexcept
      : pid_(std::exchange(other.pid_, -1)), pidfd_(std::move(other.pidfd_)),
        exit_code_(std::exchange(other.exit_code_, -1)) {}
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  // SIGKILL and reap, unless already reaped or detached.
  ~ChildProcess();

  pid_t pid() const noexcept { return pid_; }
  FdView pidfd() const noexcept { return pidfd_.view(); }
  // True while the handle refers to a process (running or not yet reaped).
  explicit operator bool() const noexcept { return pid_ > 0; }

  // Block until the child exits and reap it: its exit code, or 128+N when killed by signal N.
  // Calling it again after a successful wait returns the same code.
  [[nodiscard]] Result<int> wait();
  // Reap without blocking: the exit code if the child has exited, nullopt while it runs.
  [[nodiscard]] Result<std::optional<int>> try_wait();
  // Send `sig` through the pidfd (never hits a recycled pid).
  [[nodiscard]] Status signal(int sig);
  // Whether the child is still running (a zombie counts as exited).
  [[nodiscard]] Result<bool> alive() const;
  // SIGKILL and reap now; the exit code (128+9 unless it had already exited).
  [[nodiscard]] Result<int> kill_and_wait();
  // Give the child up: the handle forgets it, nothing kills or reaps it. The caller must reap it.
  pid_t detach() noexcept;

 private:
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  int exit_code_ = -1;  // >= 0 once reaped
};

struct CloneOptions {
  // CLONE_NEW* flags: the child starts inside these new namespaces.
  uint64_t namespace_flags = 0;
  // CLONE_PARENT: the child becomes a child of our parent (used by an intermediate helper so the
  // process it starts in a pid namespace is reaped by the original caller).
  bool clone_parent = false;
};

// The function a cloned child runs; its return value is the child's exit code (_exit). The child
// is a copy of a possibly multi-threaded parent: fn must be async-signal-safe (no allocation, no
// locks, no stdio); prepare everything before cloning.
using ChildFn = int (*)(void* arg);

[[nodiscard]] Result<ChildProcess> clone_process(const CloneOptions& options, ChildFn fn, void* arg);

// Convenience for a callable `int()` (same async-signal-safety rules).
template <class F>
[[nodiscard]] Result<ChildProcess> clone_process(const CloneOptions& options, F& fn) {
  return clone_process(options, [](void* p) { return (*static_cast<F*>(p))(); }, &fn);
}

// While one lives, this process ignores SIGINT and SIGQUIT, as system(3) does while its command
// runs: a terminal's ^C and ^\ reach the foreground command alone (it decides what they mean) and
// the caller lives on to report how it ended, as a shell does for `ip netns exec`. Process-wide,
// so for a CLI's main thread around starting and waiting for a command, not for a library
// caller whose other threads count on SIGINT. Commands started meanwhile get default signals
// anyway (spawn() and the child-process builder reset every disposition).
class [[nodiscard]] TerminalSignalsIgnored {
 public:
  TerminalSignalsIgnored();
  ~TerminalSignalsIgnored();
  TerminalSignalsIgnored(const TerminalSignalsIgnored&) = delete;
  TerminalSignalsIgnored& operator=(const TerminalSignalsIgnored&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_quit_ {};
};

// Whether clone3 with CLONE_PIDFD works on this kernel (probed once, ENOSYS -> false).
bool have_clone3();

// pidfd_open(2); Errc::unsupported when the kernel lacks it.
[[nodiscard]] Result<UniqueFd> pidfd_open(pid_t pid);

}  // namespace podns
