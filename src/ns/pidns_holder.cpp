#include "ns/pidns_holder.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include <fmt/format.h>

#include "podns/make_dirs.hpp"
#include "podns/write_file.hpp"
#include "podns/parse_int.hpp"
#include "podns/process.hpp"
#include "podns/read_file.hpp"
#include "sys/clone_raw.hpp"
#include "sys/io.hpp"
#include "sys/pidfd.hpp"
#include "sys/proc_stat.hpp"

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
  long init = sys::raw_clone(0, have_clone3());
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
  spec.cwd.assign(1, '/');  // the caller's cwd (a mount point, a dir to remove) not kept busy for life
  return spec;
}

void holder_main(const sys::ChildPlan& plan) noexcept {
  sys::ChildFailure f;
  int keep = -1;
  if (!plan.reset_signals(f) || !plan.enter(f) || !plan.arrange_fds(f, keep)) ::_exit(127);
  ::prctl(PR_SET_NAME, kPidnsHolderComm, 0, 0, 0);
  // Running its plan through: the creator reads its start time only after this.
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
  auto start_time = sys::process_start_time(init);
  // Alive after the pidfd and the start time were taken (the alive pipe has no hang-up): both are
  // the holder's.
  pollfd p{alive_r.get(), POLLIN, 0};
  bool hung_up = ::poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR));
  if (!pidfd || !start_time || hung_up) {
    if (pidfd && !hung_up) (void)sys::pidfd_signal(pidfd->view(), SIGKILL);
    if (!hung_up && !start_time) return fail_with(start_time, "start pid namespace init");
    return fail(Errc::process_exited, "start pid namespace init: it exited at once");
  }
  h.pidfd = std::move(*pidfd);
  h.start_time = *start_time;
  return h;
}

namespace {

std::string holder_dir(const Paths& paths) { return paths.ns_dir("pid-holders"); }

struct HolderRecord {
  pid_t pid;
  uint64_t start_time;
};

// "PID STARTTIME\n", as record_pidns_holder writes it.
Result<HolderRecord> parse_record(std::string_view text) {
  text = trim_blanks(text);
  auto space = text.find(' ');
  if (space == std::string_view::npos) return fail(Errc::corrupt, "not \"PID STARTTIME\"");
  auto pid = parse_int<pid_t>(text.substr(0, space));
  auto start = parse_int<uint64_t>(text.substr(space + 1));
  if (!pid || *pid <= 0 || !start) return fail(Errc::corrupt, "not \"PID STARTTIME\"");
  return HolderRecord{*pid, *start};
}

}  // namespace

std::string holder_record_path(const Paths& paths, std::string_view name) {
  return holder_dir(paths) + "/" + std::string(name);
}

Status record_pidns_holder(const Paths& paths, std::string_view name, pid_t pid, uint64_t start_time) {
  std::string dir = holder_dir(paths);
  std::string what = fmt::format("record pid namespace init {} in {}", pid, holder_record_path(paths, name));
  if (auto st = make_dirs(dir, 0755); !st) return fail_with(st, what);
  // Durable as any state (the directory synced too). A valid name never starts with '.', so the
  // temp file is nobody's record.
  if (auto st = write_file_atomically(holder_record_path(paths, name), fmt::format("{} {}\n", pid, start_time),
                                      {.mode = 0644});
      !st)
    return fail_with(st, what);
  return {};
}

Status stop_pidns_holder(const Paths& paths, std::string_view name) {
  std::string path = holder_record_path(paths, name);
  std::string what = "stop pid namespace init recorded in " + path;
  auto text = read_regular_file(path, 64, Errc::corrupt);
  if (!text) {
    if (text.error().is(std::errc::no_such_file_or_directory)) return {};  // none recorded
    return fail_with(text, what);
  }
  auto rec = parse_record(*text);
  if (!rec) return fail_with(rec, what);
  auto drop_record = [&]() -> Status {
    if (::unlink(path.c_str()) < 0 && errno != ENOENT) return fail_errno(what + ": remove the record");
    return {};
  };
  // The pidfd first: from here on it means one process. Then the start time: read after the pidfd
  // was taken, equal to the recorded one only if that process is still the recorded holder (a
  // process that reused the pid started later). The two name the holder for good, whatever its
  // namespace is pinned as now: a holder whose pin was replaced behind podns's back is an orphan
  // that nothing else will ever stop.
  auto pidfd = sys::pidfd_open(rec->pid);
  if (!pidfd) {
    if (pidfd.error().is(std::errc::no_such_process)) return drop_record();  // gone already
    return fail_with(pidfd, what);
  }
  auto start = sys::process_start_time(rec->pid);
  if (!start) {
    // Gone between the pidfd and the read: /proc/PID is no more.
    if (start.error().is(std::errc::no_such_file_or_directory) || start.error().is(std::errc::no_such_process))
      return drop_record();
    return fail_with(start, what);  // could not tell: keep the record for the next try
  }
  if (*start != rec->start_time) return drop_record();  // the pid is someone else's now
  if (auto st = sys::pidfd_signal(pidfd->view(), SIGKILL); !st && !st.error().is(std::errc::no_such_process))
    return fail_with(st, what);
  return drop_record();
}

}  // namespace podns::detail
