#include "ns/pidns_holder.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "sys/pidfd.hpp"

namespace podns::detail {
namespace {

// Only async-signal-safe calls below: the caller may be multi-threaded.
[[noreturn]] void holder_main(int alive_fd) {
  // Keep nothing of the parent's open: a held stdout pipe would make the caller's caller wait.
  if (alive_fd > 3) ::syscall(SYS_close_range, 3u, static_cast<unsigned>(alive_fd - 1), 0u);
  ::syscall(SYS_close_range, static_cast<unsigned>(alive_fd + 1), ~0u, 0u);
  int null = ::open("/dev/null", O_RDWR);
  if (null >= 0) {
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    if (null > 2) ::close(null);
  }
  ::setsid();
  ::prctl(PR_SET_NAME, kPidnsHolderComm, 0, 0, 0);
  // Named and ready: stop_pidns_holder finds holders by that name, so the creator waits for it.
  char ready = 1;
  (void)!::write(alive_fd, &ready, 1);
  // As init of its namespace only SIGKILL (from an ancestor namespace) ends it.
  for (;;) ::pause();
}

}  // namespace

Result<PidnsHolder> start_pidns_holder() {
  // report: the intermediate writes the holder's PID. alive: the holder keeps the write end open
  // for life, so a hang-up tells us it died (and its PID may be someone else's by now).
  int report[2], alive[2];
  if (::pipe2(report, O_CLOEXEC) < 0) return fail_errno("start pid namespace init: pipe");
  if (::pipe2(alive, O_CLOEXEC) < 0) {
    ::close(report[0]);
    ::close(report[1]);
    return fail_errno("start pid namespace init: pipe");
  }
  UniqueFd report_r(report[0]), report_w(report[1]), alive_r(alive[0]), alive_w(alive[1]);

  pid_t mid = ::fork();
  if (mid < 0) return fail_errno("start pid namespace init: fork");
  if (mid == 0) {
    // The intermediate: unshare, fork the init, report its PID, exit so it gets reparented.
    if (::unshare(CLONE_NEWPID) < 0) _exit(10 + errno % 100);
    pid_t init = ::fork();
    if (init < 0) _exit(1);
    if (init == 0) holder_main(alive[1]);
    ssize_t n = ::write(report[1], &init, sizeof init);
    _exit(n == sizeof init ? 0 : 2);
  }
  report_w.reset();
  alive_w.reset();
  pid_t init = -1;
  ssize_t n = ::read(report_r.get(), &init, sizeof init);
  int status = 0;
  while (::waitpid(mid, &status, 0) < 0 && errno == EINTR) {
  }
  if (n != sizeof init || init <= 0) {
    if (WIFEXITED(status) && WEXITSTATUS(status) >= 10)
      return fail_errno(WEXITSTATUS(status) - 10, "start pid namespace init: unshare CLONE_NEWPID");
    return fail(Errc::plugin_failed, "start pid namespace init: the helper failed");
  }
  PidnsHolder h;
  h.pid = init;
  char ready = 0;
  ssize_t got;
  do got = ::read(alive_r.get(), &ready, 1);
  while (got < 0 && errno == EINTR);
  if (got != 1) return fail(Errc::process_exited, "start pid namespace init: it exited at once");
  auto pidfd = sys::pidfd_open(init);
  // Alive after the pidfd was taken (the alive pipe has no hang-up): the pidfd is the holder's.
  pollfd p{alive_r.get(), POLLIN, 0};
  bool hung_up = ::poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR));
  if (!pidfd || hung_up) {
    if (pidfd && !hung_up) (void)sys::pidfd_signal(pidfd->view(), SIGKILL);
    return fail(Errc::process_exited, "start pid namespace init: it exited at once");
  }
  h.pidfd = std::move(*pidfd);
  return h;
}

Status stop_pidns_holder(const Namespace& ns) {
  DIR* d = ::opendir("/proc");
  if (!d) return fail_errno("open /proc");
  Status result;
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    struct stat st {};
    if (::stat(fmt::format("/proc/{}/ns/pid", pid).c_str(), &st) < 0) continue;
    if (st.st_dev != ns.id().dev || st.st_ino != ns.id().ino) continue;
    std::ifstream comm_file(fmt::format("/proc/{}/comm", pid));
    std::string comm;
    std::getline(comm_file, comm);
    if (comm != kPidnsHolderComm) continue;
    // The pidfd pins the identity; re-check it is still the same namespace before the kill.
    auto pidfd = sys::pidfd_open(static_cast<pid_t>(pid));
    if (!pidfd) continue;
    auto again = Namespace::open_pid(static_cast<pid_t>(pid), NamespaceType::pid);
    if (!again || !(*again == ns)) continue;
    if (auto st2 = sys::pidfd_signal(pidfd->view(), SIGKILL); !st2 && !st2.error().is(std::errc::no_such_process))
      result = fail_with(st2, fmt::format("stop pid namespace init {}", pid));
  }
  ::closedir(d);
  return result;
}

}  // namespace podns::detail
