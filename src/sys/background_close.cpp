#include "sys/background_close.hpp"

#include <linux/membarrier.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <vector>

#include "sys/clone_raw.hpp"
#include "sys/close_fds.hpp"

namespace podns::sys {
namespace {

// The closer itself, in the grandchild: system calls only (it is a copy of a process whose other
// threads may have held malloc's lock at the clone).
[[noreturn]] void run_closer(const int* keep, std::size_t n) {
  ::prctl(PR_SET_NAME, "podns-close", 0, 0, 0);
  sigset_t all;
  ::sigfillset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);  // a terminal's ^C to the group: the closer still finishes
  unsigned next = 0;
  for (std::size_t i = 0; i < n; ++i) {
    auto fd = static_cast<unsigned>(keep[i]);
    if (fd > next) close_fds(next, fd - 1);
    next = fd + 1;
  }
  close_fds(next, UINT_MAX);
  // Off the caller's directory, which may be a mount about to be unmounted. Should that fail, the
  // unmount is only busy for one grace period longer.
  [[maybe_unused]] int left = ::chdir("/");
  // Where membarrier is missing or refused (nohz_full), the close below waits the grace period
  // itself, still in this process.
  ::syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
  for (std::size_t i = 0; i < n; ++i) ::close(keep[i]);
  ::_exit(0);
}

}  // namespace

Status close_in_background(std::span<const int> fds) {
  // Sorted and allocated before the clone: the closer must not allocate.
  std::vector<int> keep;
  for (int fd : fds)
    if (fd >= 0) keep.push_back(fd);
  std::ranges::sort(keep);
  keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
  if (keep.empty()) return {};
  bool clone3 = use_clone3();
  long child = raw_clone(0, clone3);
  if (child < 0) return fail_errno("start a closer process");
  if (child == 0) {
    // The middle process exits at once: its child, the closer, is nobody's to reap.
    long closer = raw_clone(0, clone3);
    if (closer == 0) run_closer(keep.data(), keep.size());
    ::_exit(closer < 0 ? errno : 0);
  }
  int status = 0;
  while (::waitpid(static_cast<pid_t>(child), &status, 0) < 0)
    if (errno != EINTR) return fail_errno("wait for the closer's parent");
  if (!WIFEXITED(status)) return fail(Errc::process_exited, "start a closer process: its parent was killed");
  if (WEXITSTATUS(status) != 0) return fail_errno(WEXITSTATUS(status), "start a closer process");
  return {};
}

}  // namespace podns::sys
