// clone_process: clone3(CLONE_PIDFD) where the kernel has it, the classic clone syscall with fork
// semantics + pidfd_open otherwise. Both are raw syscalls: no atfork handlers run in the child, so
// the child function must be async-signal-safe (it may be a copy of a multi-threaded parent whose
// malloc lock some other thread held at the time of the clone).
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

#include <fmt/format.h>

#include "podns/process.hpp"
#include "sys/clone_raw.hpp"
#include "sys/fault.hpp"

namespace podns {
namespace {

// -1 unknown, 0 no, 1 yes. Probed by the first clone, not by comparing kernel versions.
std::atomic<int> g_clone3{-1};

[[noreturn]] void run_child(ChildFn fn, void* arg) { ::_exit(fn(arg)); }

}  // namespace

bool have_clone3() {
  if (g_clone3.load() < 0) {
    // clone3 with a NULL argument fails with EFAULT where it exists, ENOSYS where it does not.
    long r = ::syscall(SYS_clone3, nullptr, sizeof(clone_args));
    g_clone3.store(r < 0 && errno == ENOSYS ? 0 : 1);
  }
  return g_clone3.load() == 1;
}

Result<ChildProcess> clone_process(const CloneOptions& options, ChildFn fn, void* arg) {
  uint64_t flags = options.namespace_flags | (options.clone_parent ? CLONE_PARENT : 0);
  if (sys::use_clone3()) {
    int pidfd = -1;
    clone_args args{};
    args.flags = flags | CLONE_PIDFD;
    args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
    // clone3 refuses an exit signal with CLONE_PARENT (the child inherits ours, SIGCHLD).
    args.exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD;
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) run_child(fn, arg);
    if (pid > 0) return ChildProcess(static_cast<pid_t>(pid), UniqueFd(pidfd));
    if (errno != ENOSYS) return fail_errno("clone3");
    g_clone3.store(0);
  }
  // Fallback (kernels before 5.3): clone with fork semantics (no new stack), then pidfd_open.
  long pid = ::syscall(SYS_clone, static_cast<unsigned long>(flags) | SIGCHLD, nullptr, nullptr, nullptr, 0);
  if (pid == 0) run_child(fn, arg);
  if (pid < 0) return fail_errno("clone");
  auto pidfd = pidfd_open(static_cast<pid_t>(pid));
  // The pid is our unreaped child, so it cannot have been recycled between clone and pidfd_open.
  if (!pidfd && !pidfd.error().is(Errc::unsupported)) {
    ChildProcess orphan(static_cast<pid_t>(pid), UniqueFd());
    return fail(pidfd.error());
  }
  return ChildProcess(static_cast<pid_t>(pid), pidfd ? std::move(*pidfd) : UniqueFd());
}

}  // namespace podns

namespace podns::sys {

bool use_clone3() { return fault::injected_error(fault::kClone3) == 0 && have_clone3(); }

long raw_clone(uint64_t flags, bool use_clone3) noexcept {
  if (use_clone3) {
    clone_args args{};
    args.flags = flags;
    args.exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD;  // clone3 wants none with CLONE_PARENT
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid >= 0 || errno != ENOSYS) return pid;
  }
  return ::syscall(SYS_clone, static_cast<unsigned long>(flags) | SIGCHLD, nullptr, nullptr, nullptr, 0);
}

}  // namespace podns::sys
