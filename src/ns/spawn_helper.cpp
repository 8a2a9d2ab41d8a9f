// The helper child: executes a HelperSpec step by step (see spawn.hpp for the order and why), and
// the parent side that drives it. Child code below the "child side" line uses raw syscalls only.
#include "ns/spawn_helper.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "ns/pidns_holder.hpp"
#include "sys/child.hpp"
#include "sys/clone_raw.hpp"
#include "sys/io.hpp"
#include "sys/proc_stat.hpp"

namespace podns::detail {
namespace {

enum MsgKind : int32_t { kNeedMaps = 1, kReady, kError, kGrandchild };
enum Stage : int32_t {
  kStageJoin,
  kStageCreateUser,
  kStageMapsWait,
  kStageSetgroups,
  kStageSetgid,
  kStageSetuid,
  kStageUnshare,
  kStageMountPrivate,
  kStageSysfs,
  kStagePidHolder,
  kStageSysctlOpen,
  kStageSysctlWrite,
  kStageFork,
  kStageFds,
  kStageCwd,
  kStageExec,
  kStageSignals,
  kStageChild,  // another builder step (sys/child.hpp): Msg::pid carries its index
};

struct Msg {
  int32_t kind;
  int32_t stage;
  int32_t index;
  int32_t err;
  int32_t pid;
};

struct ChildJoin {
  int fd;
  int nstype;
  bool user;
  bool done;
};

struct ChildBind {
  const char* source;
  const char* target;
  const char* warning;
  size_t warning_len;
};

struct ChildSysctl {
  int kind;  // 0: write the /proc/sys file; 1: sethostname(2); 2: setdomainname(2)
  const char* path;
  const char* value;
  size_t len;
};

// Plain data for the child, pointing into storage the parent keeps alive until the clone. The
// common steps (signals, ids, fds, cwd, exec) are the builder's (sys/child.hpp); the namespace
// handshake between them is this helper's own.
struct HelperPlan {
  int sock;
  ChildJoin joins[8];
  int njoins;
  bool join_user;
  bool create_user;
  int create_flags;
  const char* mnt_private_dir;
  bool pid_holder;
  bool fresh_sysfs;
  const char* sysfs_source;
  unsigned long sysfs_flags;
  const ChildBind* binds;
  int nbinds;
  const ChildSysctl* sysctls;
  int nsysctls;
  bool pause;
  const sys::ChildPlan* child;   // ids (become root), fds, cwd, exec
  const sys::ChildPlan* holder;  // pause mode with a new pid namespace: the holder init's plan
  bool fork_last;
  bool use_clone3;  // asked before the clone (sys::use_clone3)
};

// ---- child side: async-signal-safe from here to the end of child_main -----------------------------

void child_send(int sock, const Msg& m) {
  while (::send(sock, &m, sizeof m, MSG_NOSIGNAL) < 0 && errno == EINTR) {}
}

[[noreturn]] void child_fail(const HelperPlan& p, int stage, int index, int err) {
  child_send(p.sock, Msg{kError, stage, index, err, 0});
  ::_exit(127);
}

// Wait for the parent's go-ahead; EOF means the parent gave up (or died): leave quietly.
void child_wait_ack(const HelperPlan& p) {
  char c;
  for (;;) {
    ssize_t n = ::recv(p.sock, &c, 1, 0);
    if (n == 1) return;
    if (n < 0 && errno == EINTR) continue;
    ::_exit(1);
  }
}

int join_pass(HelperPlan& p, bool user_pass, bool last_pass) {
  for (int i = 0; i < p.njoins; ++i) {
    ChildJoin& j = p.joins[i];
    if (j.done || j.user != user_pass) continue;
    if (::setns(j.fd, j.nstype) == 0) {
      j.done = true;
    } else if (last_pass || (errno != EPERM && errno != EACCES)) {
      child_fail(p, kStageJoin, i, errno);
    }
  }
  return 0;
}

// A builder step failed: the stages this helper always named keep their words.
[[noreturn]] void child_fail_step(const HelperPlan& p, const sys::ChildFailure& f) {
  switch (f.step) {
    case sys::kStepSignals: child_fail(p, kStageSignals, 0, f.err);
    case sys::kStepSetgroups: child_fail(p, kStageSetgroups, 0, f.err);
    case sys::kStepSetgid: child_fail(p, kStageSetgid, 0, f.err);
    case sys::kStepSetuid: child_fail(p, kStageSetuid, 0, f.err);
    case sys::kStepFds: child_fail(p, kStageFds, f.index, f.err);
    case sys::kStepChdir: child_fail(p, kStageCwd, 0, f.err);
    case sys::kStepExec: child_fail(p, kStageExec, 0, f.err);
    default:
      child_send(p.sock, Msg{kError, kStageChild, f.step, f.err, f.index});
      ::_exit(127);
  }
}

int child_main(void* arg) {
  HelperPlan& p = *static_cast<HelperPlan*>(arg);
  sys::ChildFailure f;
  if (!p.child->reset_signals(f)) child_fail_step(p, f);
  if (p.mnt_private_dir && ::chdir(p.mnt_private_dir) < 0) child_fail(p, kStageMountPrivate, 0, errno);
  // 1. Namespaces by path, except user; with a user namespace to join, EPERM is retried after it.
  join_pass(p, false, !p.join_user);
  // 2. The user namespace: join it, or create it and let the parent write the maps.
  if (p.join_user) {
    join_pass(p, true, true);
    join_pass(p, false, true);  // 3. what needed the user namespace's privileges
  } else if (p.create_user) {
    if (::unshare(CLONE_NEWUSER) < 0) child_fail(p, kStageCreateUser, 0, errno);
    child_send(p.sock, Msg{kNeedMaps, 0, 0, 0, 0});
    child_wait_ack(p);
  }
  // Become root in the user namespace (the plan has ids only when asked to and there is one).
  if (!p.child->set_ids(f)) child_fail_step(p, f);
  // 4. New namespaces, owned by the user namespace we are in now.
  if (p.create_flags && ::unshare(p.create_flags) < 0) child_fail(p, kStageUnshare, 0, errno);
  // unshare(CLONE_NEWNS) moved our cwd (the pin dir, entered before the user namespace existed)
  // to its copy in the new namespace; "." reaches it without a path walk through directories that
  // belong to host root, which the new user namespace does not map.
  if (p.mnt_private_dir) {
    if (::mount("", ".", nullptr, MS_PRIVATE | MS_REC, nullptr) < 0) child_fail(p, kStageMountPrivate, 0, errno);
    if (::chdir("/") < 0) child_fail(p, kStageMountPrivate, 0, errno);
  }
  if (p.fresh_sysfs) {
    // Our mounts must not reach the namespace we copied (host mounts still reach us), then a new
    // sysfs over the old one: the old one may be locked (inherited from a more privileged mount
    // namespace), but mounting on top of it is allowed.
    if (::mount("", "/", nullptr, MS_SLAVE | MS_REC, nullptr) < 0) child_fail(p, kStageSysfs, 0, errno);
    if (::mount(p.sysfs_source, "/sys", "sysfs", p.sysfs_flags, nullptr) < 0) child_fail(p, kStageSysfs, 1, errno);
    for (int i = 0; i < p.nbinds; ++i)
      if (::mount(p.binds[i].source, p.binds[i].target, nullptr, MS_BIND, nullptr) < 0)
        (void)!::write(STDERR_FILENO, p.binds[i].warning, p.binds[i].warning_len);
  }
  // /proc/sys/net, /proc/sys/kernel/hostname, ... show the writer's own namespaces.
  for (int i = 0; i < p.nsysctls; ++i) {
    // /proc/sys/kernel/{hostname,domainname} belong to host root, whom a new user namespace does
    // not map: the syscalls check CAP_SYS_ADMIN over the uts namespace instead.
    if (p.sysctls[i].kind == 1 && ::sethostname(p.sysctls[i].value, p.sysctls[i].len) < 0)
      child_fail(p, kStageSysctlWrite, i, errno);
    if (p.sysctls[i].kind == 2 && ::setdomainname(p.sysctls[i].value, p.sysctls[i].len) < 0)
      child_fail(p, kStageSysctlWrite, i, errno);
    if (p.sysctls[i].kind != 0) continue;
    int fd = ::open(p.sysctls[i].path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) child_fail(p, kStageSysctlOpen, i, errno);
    if (::write(fd, p.sysctls[i].value, p.sysctls[i].len) < 0) child_fail(p, kStageSysctlWrite, i, errno);
    ::close(fd);
  }
  if (p.pause) {
    int32_t holder = 0;
    if (p.pid_holder) {
      // A new pid namespace needs an init before it can be pinned (pid_for_children reads ENOENT
      // until then) and takes no process once its init is gone: fork one that only sleeps. It is
      // our child, not the caller's, so nobody is left with a zombie when we are killed.
      long h = sys::raw_clone(0, p.use_clone3);
      if (h < 0) child_fail(p, kStagePidHolder, 0, errno);
      if (h == 0) holder_main(*p.holder);
      holder = static_cast<int32_t>(h);
    }
    child_send(p.sock, Msg{kReady, 0, 0, 0, holder});
    char c;
    while (::recv(p.sock, &c, 1, 0) != 0 && errno == EINTR) {}
    ::_exit(0);
  }
  // 5. pid and time namespaces apply to children: the program runs in a grandchild, which
  // CLONE_PARENT makes the caller's own child so the caller waits for it.
  if (p.fork_last) {
    long pid = sys::raw_clone(CLONE_PARENT, p.use_clone3);
    if (pid < 0) child_fail(p, kStageFork, 0, errno);
    if (pid > 0) {
      child_send(p.sock, Msg{kGrandchild, 0, 0, 0, static_cast<int32_t>(pid)});
      ::_exit(0);
    }
  }
  // 6. fds (nothing but the mapped ones and our socket survives), cwd, exec.
  if (!p.child->arrange_fds(f, p.sock)) child_fail_step(p, f);
  p.child->exec(f);
  child_fail_step(p, f);
}

// ---- parent side ----------------------------------------------------------------------------------

std::string stage_text(const HelperSpec& spec, const sys::ChildPlan& child, const Msg& m) {
  switch (m.stage) {
    case kStageSignals: return "reset signals";
    case kStageChild: return child.describe(sys::ChildFailure{m.index, m.pid, m.err});
    case kStageJoin:
      if (m.index >= 0 && static_cast<size_t>(m.index) < spec.joins.size())
        return fmt::format("join {} namespace {}", to_string(spec.joins[m.index].type()), spec.join_paths[m.index]);
      return "join namespace";
    case kStageCreateUser: return "create user namespace";
    case kStageMapsWait: return "wait for id maps";
    case kStageSetgroups: return "drop supplementary groups in the user namespace";
    case kStageSetgid:
      return m.err == EINVAL ? "become gid 0 in the user namespace (gid 0 is not mapped)"
                             : "become gid 0 in the user namespace";
    case kStageSetuid:
      return m.err == EINVAL ? "become uid 0 in the user namespace (uid 0 is not mapped)"
                             : "become uid 0 in the user namespace";
    case kStageUnshare: {
      std::string names;
      for (const auto& info : all_namespaces())
        if (spec.create_flags & static_cast<uint64_t>(info.clone_flag))
          names += fmt::format("{}{}", names.empty() ? "" : ",", info.name);
      return fmt::format("create namespaces {}", names);
    }
    case kStageMountPrivate: return fmt::format("make {} private in the new mount namespace", spec.mnt_private_dir);
    case kStageSysfs: return m.index == 0 ? "make / a slave mount" : "mount a fresh sysfs on /sys";
    case kStagePidHolder: return "start the init of the new pid namespace";
    case kStageSysctlOpen:
    case kStageSysctlWrite:
      if (m.index >= 0 && static_cast<size_t>(m.index) < spec.sysctls.size())
        return fmt::format("set sysctl {}={} ({})", spec.sysctls[m.index].key, spec.sysctls[m.index].value,
                           spec.sysctls[m.index].path);
      return "set sysctl";
    case kStageFork: return "fork into the new pid/time namespace";
    case kStageFds:
      if (m.index >= 0 && static_cast<size_t>(m.index) < spec.fds.size())
        return fmt::format("pass fd {} as {}", spec.fds[m.index].parent_fd, spec.fds[m.index].child_fd);
      return "pass fds";
    case kStageCwd: return fmt::format("chdir {}", spec.cwd);
    case kStageExec: return fmt::format("exec {}", spec.argv.empty() ? "" : spec.argv[0]);
  }
  return "helper";
}

// Receive one message; 0 bytes means every copy of the child's end is closed (exec or exit).
Result<ssize_t> recv_msg(int sock, Msg& m) {
  // The helper does only a few syscalls per step; newuidmap runs in the parent. A minute without a
  // message means something is badly wrong (a frozen cgroup, a stuck NFS cwd): give up clearly.
  pollfd pfd{sock, POLLIN, 0};
  for (;;) {
    int r = ::poll(&pfd, 1, 60'000);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return fail_errno("poll helper socket");
    if (r == 0) return fail(Errc::timed_out, "helper did not answer within 60s");
    break;
  }
  for (;;) {
    ssize_t n = sys::recv(sock, &m, sizeof m, 0);
    if (n >= 0) {
      if (n != 0 && n != static_cast<ssize_t>(sizeof m)) return fail(Errc::corrupt, "helper sent a short message");
      return n;
    }
    if (errno == EINTR) continue;
    return fail_errno("read helper socket");
  }
}

}  // namespace

Result<HelperResult> run_helper(HelperSpec& spec) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return fail_errno("helper socketpair");
  UniqueFd parent_sock(sv[0]), child_sock(sv[1]);

  // Everything the child touches is built here, before the clone.
  HelperPlan plan{};
  plan.sock = child_sock.get();
  if (spec.joins.size() > 8) return fail(Errc::invalid_argument, "more than 8 namespaces to join");
  for (size_t i = 0; i < spec.joins.size(); ++i) {
    const Namespace& ns = spec.joins[i];
    plan.joins[i] = {ns.fd().get(), ns.info().clone_flag, ns.type() == NamespaceType::user, false};
    if (ns.type() == NamespaceType::user) plan.join_user = true;
  }
  plan.njoins = static_cast<int>(spec.joins.size());
  plan.create_user = spec.create_user;
  plan.create_flags = static_cast<int>(spec.create_flags);
  plan.mnt_private_dir = spec.mnt_private_dir.empty() ? nullptr : spec.mnt_private_dir.c_str();
  std::vector<ChildSysctl> sysctls;
  for (const auto& s : spec.sysctls) {
    int kind = s.path == "/proc/sys/kernel/hostname" ? 1 : s.path == "/proc/sys/kernel/domainname" ? 2 : 0;
    sysctls.push_back({kind, s.path.c_str(), s.value.c_str(), s.value.size()});
  }
  plan.sysctls = sysctls.data();
  plan.nsysctls = static_cast<int>(sysctls.size());
  plan.pause = spec.pause;
  plan.pid_holder = spec.pause && (spec.create_flags & CLONE_NEWPID);

  sys::ChildSpec cs;
  if ((plan.join_user || plan.create_user) && spec.become_root) {
    // Without setgroups allowed, dropping the supplementary groups fails with EPERM; they are
    // the overflow gid anyway then, as with nsenter.
    cs.ids = sys::ChildIds{0, 0, std::vector<gid_t>{}, true};
  }
  if (!spec.pause) {
    cs.argv = spec.argv;
    cs.exec_paths = spec.exec_candidates;
    cs.env = spec.env;
    for (const auto& f : spec.fds) cs.fds.push_back({f.parent_fd, f.child_fd});
    cs.cwd = spec.cwd;
    plan.fork_last = spec.fork_last;
    plan.fresh_sysfs = spec.fresh_sysfs;
  }
  plan.sysfs_source = spec.sysfs_source.c_str();
  plan.sysfs_flags = spec.sysfs_flags;
  std::vector<ChildBind> binds;
  for (const auto& b : spec.binds) binds.push_back({b.source.c_str(), b.target.c_str(), b.warning.c_str(), b.warning.size()});
  plan.binds = binds.data();
  plan.nbinds = static_cast<int>(binds.size());
  sys::ChildPlan child_plan(std::move(cs));
  if (auto s = child_plan.check(!spec.pause); !s) return fail(s.error());
  plan.child = &child_plan;
  UniqueFd holder_null;
  std::optional<sys::ChildPlan> holder_plan;
  if (plan.pid_holder) {
    holder_null.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!holder_null) return fail_errno("open /dev/null");
    holder_plan.emplace(holder_spec(holder_null.get(), -1));
    plan.holder = &*holder_plan;
  }
  plan.use_clone3 = sys::use_clone3();

  auto child = clone_process({}, child_main, &plan);
  if (!child) return fail_with(child, "start helper");
  child_sock.reset();
  HelperResult out;
  out.process = std::move(*child);
  // Our unreaped child: its pid cannot name anyone else while we hold it. Needed to write the id
  // maps and, in pause mode, to open its namespaces.
  if (spec.create_user || spec.pause) {
    std::string proc_path = fmt::format("/proc/{}", out.process.pid());
    out.proc_dir = UniqueFd(::open(proc_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!out.proc_dir) return fail_errno("open " + proc_path);
  }

  // The intermediate is done; the grandchild (ours through CLONE_PARENT, unreaped, so the pid is
  // stable) is the process the caller gets.
  bool have_grandchild = false;
  auto take_grandchild = [&](pid_t gpid) -> Status {
    have_grandchild = true;
    (void)out.process.wait();
    auto pidfd = pidfd_open(gpid);
    if (!pidfd && !pidfd.error().is(Errc::unsupported)) {
      ChildProcess orphan(gpid, UniqueFd());  // killed and reaped on return
      return fail_with(pidfd, "track the process in the new pid namespace");
    }
    out.process = ChildProcess(gpid, pidfd ? std::move(*pidfd) : UniqueFd());
    out.proc_dir.reset();
    return {};
  };
  for (;;) {
    Msg m{};
    auto n = recv_msg(parent_sock.get(), m);
    if (!n) return fail(n.error());
    if (*n == 0) {
      if (spec.pause) {
        auto code = out.process.wait();
        return fail(Errc::process_exited,
                    fmt::format("helper {} exited (status {}) before its namespaces were ready", out.process.pid(),
                                code ? *code : -1));
      }
      return out;  // exec succeeded: the exec closed the last copy of the child's socket
    }
    switch (m.kind) {
      case kNeedMaps: {
        if (auto s = write_idmappings(out.proc_dir.view(), out.process.pid(), spec.idmaps); !s)
          return fail(Error(s.error()).context("write id maps of the new user namespace"));
        char go = 1;
        ssize_t sent;
        do sent = sys::send(parent_sock.get(), &go, 1, MSG_NOSIGNAL);
        while (sent < 0 && errno == EINTR);
        if (sent < 0) return fail_errno("wake helper");
        break;
      }
      case kError: {
        Error failed = Error::from_errno(m.err, stage_text(spec, child_plan, m));
        // A grandchild that failed (exec) may report before the intermediate has named it: read
        // on until it does, so the grandchild is reaped with `out` below. Left alone, it would
        // be reparented to the caller's reaper and could stay a zombie, counted in the pid
        // namespace, for as long as that reaper does not look.
        if (spec.fork_last && !have_grandchild) {
          for (Msg late{};;) {
            auto r = recv_msg(parent_sock.get(), late);
            if (!r || *r == 0) break;
            if (late.kind == kGrandchild) {
              (void)take_grandchild(late.pid);
              break;
            }
          }
        }
        return fail(std::move(failed));
      }
      case kGrandchild:
        if (auto s = take_grandchild(m.pid); !s) return fail(s.error());
        break;
      case kReady:
        if (spec.pause) {
          if (m.pid > 0) {
            // The holder is the helper's unreaped child while the helper lives: its pid is stable.
            auto pidfd = pidfd_open(m.pid);
            auto start_time = sys::process_start_time(m.pid);
            if (!pidfd || !start_time) {
              ::kill(m.pid, SIGKILL);  // still the helper's unreaped child: the pid is stable
              return pidfd ? fail_with(start_time, "track the pid namespace init")
                           : fail_with(pidfd, "track the pid namespace init");
            }
            out.pid_holder = std::move(*pidfd);
            out.pid_holder_pid = m.pid;
            out.pid_holder_start_time = *start_time;
          }
          out.sock = std::move(parent_sock);
          return out;
        }
        return fail(Errc::corrupt, "helper: unexpected ready message");
      default:
        return fail(Errc::corrupt, "helper: unknown message");
    }
  }
}

}  // namespace podns::detail
