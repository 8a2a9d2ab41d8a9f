// ChildPlan, child side: the steps between clone and execve. Raw syscalls and async-signal-safe
// libc calls only: this runs in a copy of a possibly multi-threaded parent whose malloc, stdio and
// thread-list locks may have been held by another thread at the time of the clone.
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "sys/child.hpp"
#include "sys/close_fds.hpp"

extern char** environ;

namespace podns::sys {
namespace {

bool failed(ChildFailure& f, int32_t step, int32_t index = 0) {
  f = ChildFailure{step, index, errno};
  return false;
}

}  // namespace

bool ChildPlan::reset_signals(ChildFailure& f) const noexcept {
  // Dispositions first, then the mask: a signal unblocked while its handler is still the
  // parent's would run parent code in the child. Through the syscall: glibc's sigaction() refuses
  // its two internal signals (32 and 33) with EINVAL, yet an "ignore" of those that the parent
  // inherited from its own parent passes execve like any other (seen under CI: SigIgn
  // 0x180000000 in every child). SIG_DFL is 0, so an all-zero kernel sigaction is "default, no
  // flags, empty mask" whatever the architecture's field order. 8: the kernel's sigset (64
  // signals), not glibc's 128-byte sigset_t. SIGKILL and SIGSTOP cannot be changed.
  const unsigned long dfl[4] = {};
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    (void)::syscall(SYS_rt_sigaction, sig, dfl, nullptr, 8);
  }
  sigset_t none;
  ::sigemptyset(&none);
  if (::sigprocmask(SIG_SETMASK, &none, nullptr) < 0) return failed(f, kStepSignals);
  return true;
}

bool ChildPlan::enter(ChildFailure& f) const noexcept {
  if (spec_.session == ChildSession::new_session && ::setsid() < 0) return failed(f, kStepSession);
  if (spec_.session == ChildSession::new_process_group && ::setpgid(0, 0) < 0) return failed(f, kStepSession);
  for (size_t i = 0; i < spec_.joins.size(); ++i)
    if (::setns(spec_.joins[i].fd, spec_.joins[i].nstype) < 0) return failed(f, kStepSetns, static_cast<int32_t>(i));
  if (spec_.unshare_flags && ::unshare(spec_.unshare_flags) < 0) return failed(f, kStepUnshare);
  if (spec_.private_mounts && ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
    return failed(f, kStepPrivateMounts);
  return true;
}

bool ChildPlan::set_ids(ChildFailure& f) const noexcept {
  if (!spec_.ids) return true;
  const ChildIds& ids = *spec_.ids;
  // Raw syscalls: these change this thread only, which is all the child has (see child.hpp).
  if (ids.groups) {
    long r = ::syscall(SYS_setgroups, ids.groups->size(), ids.groups->empty() ? nullptr : ids.groups->data());
    if (r < 0 && !(errno == EPERM && ids.groups_eperm_ok)) return failed(f, kStepSetgroups);
  }
  if (::syscall(SYS_setresgid, ids.gid, ids.gid, ids.gid) < 0) return failed(f, kStepSetgid);
  if (::syscall(SYS_setresuid, ids.uid, ids.uid, ids.uid) < 0) return failed(f, kStepSetuid);
  return true;
}

bool ChildPlan::arrange_fds(ChildFailure& f, int& keep) const noexcept {
  const size_t n = spec_.fds.size();
  if (n > kMaxChildFds) {
    errno = EMFILE;
    return failed(f, kStepFds);
  }
  int floor = 3;
  for (const ChildFd& m : spec_.fds) floor = m.child_fd + 1 > floor ? m.child_fd + 1 : floor;
  // Out of the way first: a source may carry a number another mapping targets, and `keep` must
  // survive every dup2. The parked copies are close-on-exec and go with the close below.
  if (keep >= 0) {
    int moved = ::fcntl(keep, F_DUPFD_CLOEXEC, floor);
    if (moved < 0) return failed(f, kStepFds);
    keep = moved;
  }
  int parked[kMaxChildFds];
  for (size_t i = 0; i < n; ++i) {
    parked[i] = ::fcntl(spec_.fds[i].parent_fd, F_DUPFD_CLOEXEC, floor);
    if (parked[i] < 0) return failed(f, kStepFds, static_cast<int32_t>(i));
  }
  // dup2 clears close-on-exec on the target.
  for (size_t i = 0; i < n; ++i)
    if (::dup2(parked[i], spec_.fds[i].child_fd) < 0) return failed(f, kStepFds, static_cast<int32_t>(i));
  // Close everything else, from 3 up (0-2 are inherited unless mapped), in the gaps between the
  // fds we keep.
  unsigned lo = 3;
  for (;;) {
    long next = -1;  // the smallest kept fd >= lo
    for (size_t i = 0; i < n; ++i) {
      long c = spec_.fds[i].child_fd;
      if (c >= static_cast<long>(lo) && (next < 0 || c < next)) next = c;
    }
    if (keep >= static_cast<int>(lo) && (next < 0 || keep < next)) next = keep;
    if (next < 0) {
      close_fds(lo, ~0u);
      break;
    }
    if (static_cast<unsigned>(next) > lo) close_fds(lo, static_cast<unsigned>(next) - 1);
    lo = static_cast<unsigned>(next) + 1;
  }
  if (cwd_ && ::chdir(cwd_) < 0) return failed(f, kStepChdir);
  return true;
}

void ChildPlan::exec(ChildFailure& f) const noexcept {
  char* const* envp = envp_.empty() ? environ : envp_.data();
  int err = ENOENT;
  for (const char* path : paths_) {
    ::execve(path, argv_.data(), envp);
    // As execvp: keep looking after ENOENT/ENOTDIR, and report the most telling error (EACCES
    // from one directory beats ENOENT from the others).
    if (errno != ENOENT && errno != ENOTDIR) err = errno;
    if (errno == ETXTBSY || errno == ENOEXEC || errno == E2BIG || errno == ENOMEM) break;
  }
  errno = err;
  (void)failed(f, kStepExec);
}

void ChildPlan::run(ChildFailure& f, int& keep) const noexcept {
  if (reset_signals(f) && enter(f) && set_ids(f) && arrange_fds(f, keep)) exec(f);
}

void child_report_and_exit(int fd, const ChildFailure& f) noexcept {
  if (fd >= 0) {
    ssize_t r;
    do r = ::write(fd, &f, sizeof f);
    while (r < 0 && errno == EINTR);
  }
  ::_exit(127);
}

}  // namespace podns::sys
