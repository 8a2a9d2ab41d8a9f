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
#include <string>

#include <fmt/format.h>

#include "podns/process.hpp"
#include "sys/clone_raw.hpp"
#include "sys/io.hpp"
#include "sys/pidfd.hpp"
#include "sys/proc_status.hpp"

namespace podns::detail {
namespace {

constexpr int kAliveFd = 3;

enum HolderExit { kHolderOk = 0, kHolderFork = 1, kHolderReport = 2, kHolderUnshare = 10 };

struct StartArgs {
  const sys::ChildPlan* holder;
  int report;
};

// The intermediate: unshare, fork the init, report its PID, exit so the init gets reparented.
// Async-signal-safe (the caller may be multi-threaded).
int intermediate_main(void* arg) {
  auto* a = static_cast<StartArgs*>(arg);
  if (::unshare(CLONE_NEWPID) < 0) return kHolderUnshare + errno % 100;
  long init = sys::raw_clone(0, false);
  if (init < 0) return kHolderFork;
  if (init == 0) holder_main(*a->holder);
  pid_t pid = static_cast<pid_t>(init);
  ssize_t n = ::write(a->report, &pid, sizeof pid);
  return n == sizeof pid ? kHolderOk : kHolderReport;
}

}  // namespace

sys::ChildSpec holder_spec(int null_fd, int alive_fd) {
  sys::ChildSpec spec;
  // Keep nothing of the parent's open: a held stdout pipe would make the caller's caller wait.
  spec.fds = {{null_fd, 0}, {null_fd, 1}, {null_fd, 2}};
  if (alive_fd >= 0) spec.fds.push_back({alive_fd, kAliveFd});
  spec.session = sys::ChildSession::new_session;
  spec.cwd.assign(1, '/');  // not a mount point kept busy by the holder
  return spec;
}

void holder_main(const sys::ChildPlan& plan) noexcept {
  sys::ChildFailure f;
  int keep = -1;
  if (!plan.reset_signals(f) || !plan.enter(f) || !plan.arrange_fds(f, keep)) ::_exit(127);
  ::prctl(PR_SET_NAME, kPidnsHolderComm, 0, 0, 0);
  // Named and ready: stop_pidns_holder finds holders by that name, so the creator waits for it.
  if (plan.spec().fds.size() > 3) {
    char ready = 1;
    (void)!::write(kAliveFd, &ready, 1);
  }
  // As init of its namespace only SIGKILL (from an ancestor namespace) ends it.
  for (;;) ::pause();
}

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
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null) return fail_errno("start pid namespace init: open /dev/null");
  sys::ChildPlan holder(holder_spec(null.get(), alive_w.get()));

  StartArgs args{&holder, report_w.get()};
  auto mid = clone_process(CloneOptions{}, intermediate_main, &args);
  if (!mid) return fail_with(mid, "start pid namespace init");
  report_w.reset();
  alive_w.reset();
  pid_t init = -1;
  ssize_t n;
  do n = sys::read(report_r.get(), &init, sizeof init);
  while (n < 0 && errno == EINTR);
  auto status = mid->wait();
  if (n != sizeof init || init <= 0) {
    if (status && *status >= kHolderUnshare && *status < 128)
      return fail_errno(*status - kHolderUnshare, "start pid namespace init: unshare CLONE_NEWPID");
    return fail(Errc::plugin_failed, "start pid namespace init: the helper failed");
  }
  PidnsHolder h;
  h.pid = init;
  char ready = 0;
  ssize_t got;
  do got = sys::read(alive_r.get(), &ready, 1);
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
    auto comm = sys::read_proc_file(fmt::format("/proc/{}/comm", pid));
    if (!comm || comm->substr(0, comm->find('\n')) != kPidnsHolderComm) continue;
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
