// Starting the session's pause process: the id maps it gets, and the double fork that leaves it
// detached inside a new user namespace (maps written by us, through newuidmap/newgidmap) and a new
// mount namespace owned by it.
//
// The caller may be multi-threaded (a library user), so everything between clone and the pause
// loop is async-signal-safe: the child-process builder's steps (sys/child.hpp: signals, ids by raw
// syscall, fds, cwd) around this file's own user-namespace handshake.
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include <fmt/format.h>

#include "podns/process.hpp"
#include "rootless/helper_process.hpp"
#include "rootless/session_internal.hpp"
#include "sys/child.hpp"
#include "sys/clone_raw.hpp"
#include "sys/io.hpp"

namespace podns::rootless {
namespace {

std::string user_name(uid_t uid) {
  passwd pw{};
  passwd* out = nullptr;
  char buf[4096];
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &out) == 0 && out) return out->pw_name;
  return {};
}

// 0 -> `own`, then every subordinate range from container id 1 on. The kernel takes at most 340
// lines and ids up to 2^32-2; ranges past that are left out rather than refused.
IdMap map_with_ranges(uint32_t own, const std::vector<SubidRange>& ranges) {
  IdMap map{{0, own, 1}};
  uint64_t next = 1;
  for (const auto& r : ranges) {
    if (map.size() >= kMaxIdMapRanges || r.count == 0) break;
    uint64_t size = std::min<uint64_t>(r.count, 4294967295ULL - next);
    if (size == 0) break;
    map.push_back({static_cast<uint32_t>(next), r.start, static_cast<uint32_t>(size)});
    next += size;
  }
  return map;
}

// --- the child side (async-signal-safe) -----------------------------------------------------------

enum Step : int { kPid = 1, kUnshared, kReady, kFailed };
enum What : int { kSetsid = 1, kFork, kUnshareUser, kSetgid, kSetuid, kUnshareMount, kSignals, kFds };

struct Msg {
  int step;
  int value;  // the pid (kPid) or errno (kFailed)
  int what;   // kFailed: which step
};

struct PauseArgs {
  int report;  // write end: Msg records to the parent
  int go;      // read end: one byte once the maps are written
  const sys::ChildPlan* plan;  // root in the new user namespace, /dev/null on 0-2, cwd /
};

void send(int fd, int step, int value, int what = 0) {
  Msg m{step, value, what};
  (void)!::write(fd, &m, sizeof m);
}

[[noreturn]] void fail_child(const PauseArgs& a, What what) {
  send(a.report, kFailed, errno, what);
  ::_exit(1);
}

[[noreturn]] void fail_step(const PauseArgs& a, const sys::ChildFailure& f) {
  errno = f.err;
  switch (f.step) {
    case sys::kStepSignals: fail_child(a, kSignals);
    case sys::kStepSetgid: fail_child(a, kSetgid);
    case sys::kStepSetuid: fail_child(a, kSetuid);
    default: fail_child(a, kFds);
  }
}

[[noreturn]] void pause_main(const PauseArgs& a) {
  // Signals: default dispositions (SIGTERM and SIGKILL end it), none blocked.
  sys::ChildFailure f;
  if (!a.plan->reset_signals(f)) fail_step(a, f);
  send(a.report, kPid, static_cast<int>(::syscall(SYS_getpid)));
  if (::unshare(CLONE_NEWUSER) < 0) fail_child(a, kUnshareUser);
  send(a.report, kUnshared, 0);
  char go = 0;
  ssize_t n;
  do n = ::read(a.go, &go, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1) ::_exit(1);  // the parent gave up (its end closed)
  if (!a.plan->set_ids(f)) fail_step(a, f);
  // /proc/PID/ns/* of a non-dumpable process belong to root: joiners would get EPERM.
  ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  // Created by the session's root, this mount namespace is owned by the session's user namespace:
  // its root may mount there. Copied from a more privileged namespace, every shared mount arrives
  // as a slave (the kernel's rule), so host mounts still propagate in and nothing leaks out.
  if (::unshare(CLONE_NEWNS) < 0) fail_child(a, kUnshareMount);
  ::prctl(PR_SET_NAME, kPauseComm, 0, 0, 0);
  // /dev/null on 0-2, cwd /, nothing else open but the report pipe until ready is sent.
  int report = a.report;
  if (!a.plan->arrange_fds(f, report)) fail_step(a, f);
  send(report, kReady, 0);
  ::close(report);
  for (;;) ::pause();
}

// The intermediate child: a new session (no controlling terminal, so a terminal's ^C or hangup
// never reaches the pause process), then fork the pause process and exit, so it is reparented
// away from the caller (never a zombie of a long-lived library caller).
int pause_intermediate(const PauseArgs& a) {
  if (::setsid() < 0) {
    send(a.report, kFailed, errno, kSetsid);
    return 1;
  }
  long pid = sys::raw_clone(0, have_clone3());
  if (pid < 0) {
    send(a.report, kFailed, errno, kFork);
    return 1;
  }
  if (pid == 0) pause_main(a);
  return 0;
}

const char* what_name(int what) {
  switch (what) {
    case kSetsid: return "setsid";
    case kFork: return "fork";
    case kUnshareUser: return "unshare the user namespace";
    case kSetgid: return "become gid 0";
    case kSetuid: return "become uid 0";
    case kUnshareMount: return "unshare the mount namespace";
    case kSignals: return "reset signals";
    case kFds: return "set up stdin/stdout/stderr and cwd";
    default: return "setup";
  }
}

// --- the parent side ------------------------------------------------------------------------------

struct Reader {
  FdView fd;
  std::chrono::steady_clock::time_point deadline;

  Result<Msg> next(int want) {
    Msg m{};
    size_t got = 0;
    while (got < sizeof m) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{fd.get(), POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return fail_errno("wait for the pause process");
      if (r == 0) return fail(Errc::timed_out, "the pause process did not report within the deadline");
      ssize_t n = sys::read(fd.get(), reinterpret_cast<char*>(&m) + got, sizeof m - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail_errno("read from the pause process");
      if (n == 0) return fail(Errc::process_exited, "the pause process exited during setup");
      got += static_cast<size_t>(n);
    }
    if (m.step == kFailed) {
      std::string hint;
      if (m.what == kUnshareUser && (m.value == EPERM || m.value == ENOSPC || m.value == EUSERS))
        hint = " (user namespaces disabled? check user.max_user_namespaces and kernel.unprivileged_userns_clone)";
      return fail(Error(std::error_code(m.value, std::generic_category()), what_name(m.what) + hint));
    }
    if (m.step != want) return fail(Errc::corrupt, fmt::format("pause process: step {} where {} was due", m.step, want));
    return m;
  }
};

}  // namespace

Result<IdMappings> session_idmappings(const SubidFiles& files) {
  uid_t uid = ::getuid();
  gid_t gid = ::getgid();
  std::string name = user_name(uid);
  auto uids = subid_ranges_for(files.subuid, name, uid);
  if (!uids) return fail_with(uids, "session id map");
  auto gids = subid_ranges_for(files.subgid, name, uid);
  if (!gids) return fail_with(gids, "session id map");
  IdMappings maps;
  maps.uid = map_with_ranges(uid, *uids);
  maps.gid = map_with_ranges(gid, *gids);
  // An unprivileged map of only our own gid is allowed only with setgroups denied.
  maps.setgroups = maps.gid.size() == 1 ? SetGroups::deny : SetGroups::allow;
  return maps;
}

namespace detail {

Result<SessionInfo> start_pause_process(const IdMappings& maps, std::chrono::milliseconds timeout) {
  int report[2], go[2];
  if (::pipe2(report, O_CLOEXEC) < 0) return fail_errno("pipe");
  UniqueFd report_rd(report[0]), report_wr(report[1]);
  if (::pipe2(go, O_CLOEXEC) < 0) return fail_errno("pipe");
  UniqueFd go_rd(go[0]), go_wr(go[1]);
  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull) return fail_errno("open /dev/null");
  sys::ChildSpec spec;
  // Root of the new user namespace (uid and gid 0 are mapped to the user); the supplementary
  // groups are left alone: setgroups may be denied there.
  spec.ids = sys::ChildIds{0, 0, std::nullopt, false};
  spec.fds = {{devnull.get(), 0}, {devnull.get(), 1}, {devnull.get(), 2}};
  spec.cwd = "/";
  sys::ChildPlan plan(std::move(spec));

  PauseArgs args{report_wr.get(), go_rd.get(), &plan};
  auto fn = [&args]() -> int { return pause_intermediate(args); };
  auto intermediate = clone_process(CloneOptions{}, fn);
  if (!intermediate) return fail_with(intermediate, "start the pause process");
  // Our copies of the child's ends go, so a dying child reads as EOF.
  report_wr.reset();
  go_rd.reset();

  Reader reader{report_rd.view(), std::chrono::steady_clock::now() + timeout};
  auto pid_msg = reader.next(kPid);
  (void)intermediate->wait();  // it exits right after the fork
  if (!pid_msg) return fail_with(pid_msg, "start the pause process");
  pid_t pid = pid_msg->value;
  // The pause process waits for our byte on `go` before it can do anything else, so it cannot have
  // exited and had its PID reused (unless killed from outside: then reading below sees EOF).
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) return fail_errno(fmt::format("pidfd_open pause process {}", pid));
  // Whatever fails from here on: the half-made process is killed (it is not our child; init reaps).
  struct Killer {
    FdView fd;
    bool armed = true;
    ~Killer() {
      if (armed) ::syscall(SYS_pidfd_send_signal, fd.get(), SIGKILL, nullptr, 0);
    }
  } killer{pidfd.view()};

  auto unshared = reader.next(kUnshared);
  if (!unshared) return fail_with(unshared, "start the pause process");
  UniqueFd proc_dir(::open(fmt::format("/proc/{}", pid).c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!proc_dir) return fail_errno(fmt::format("open /proc/{}", pid));
  if (detail::has_exited(pidfd.view()))
    return fail(Errc::process_exited, "start the pause process: it exited before its id maps were written");
  if (auto s = write_idmappings(proc_dir.view(), pid, maps); !s)
    return fail_with(s, fmt::format("map the session's ids (uid map {}, gid map {})", format_idmap(maps.uid),
                                    format_idmap(maps.gid)));
  char byte = 1;
  ssize_t sent;
  do sent = sys::write(go_wr.get(), &byte, 1);
  while (sent < 0 && errno == EINTR);
  if (sent != 1) return fail_errno("start the pause process: signal it");
  auto ready = reader.next(kReady);
  if (!ready) return fail_with(ready, "start the pause process");

  auto start = detail::proc_start_time(pid);
  if (!start || detail::has_exited(pidfd.view()))
    return fail(Errc::process_exited, fmt::format("the pause process {} exited right after it started", pid));
  killer.armed = false;
  SessionInfo info;
  info.pid = pid;
  info.start_time = *start;
  return info;
}

}  // namespace detail
}  // namespace podns::rootless
