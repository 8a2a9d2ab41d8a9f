// exec_in_namespaces: fork, join, (netns) private /sys and /etc, exec; wait.
#include "podns/ns_exec.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "podns/pin.hpp"
#include "podns/process.hpp"
#include "podns/spawn.hpp"
#include "sys/child.hpp"
#include "sys/clone_raw.hpp"
#include "sys/io.hpp"

namespace podns {
namespace {

// This file's own steps between the builder's (sys/child.hpp), reported the same way.
enum Step : int32_t { kSlaveRoot = sys::kSiteStep, kUmountSys, kMountSys, kFork };

// `order`: the request's namespaces in join order (the plan's joins, by index).
std::string step_name(const sys::ChildFailure& f, const std::vector<int>& order, const NsExecRequest& req,
                      const sys::ChildPlan& plan) {
  switch (f.step) {
    case sys::kStepSetns:
      return f.index >= 0 && static_cast<size_t>(f.index) < order.size()
                 ? fmt::format("enter {} namespace", to_string(req.namespaces[order[f.index]].type()))
                 : "enter namespace";
    case sys::kStepUnshare: return "unshare mount namespace";
    case kSlaveRoot: return "make / a slave mount";
    case kUmountSys: return "unmount /sys";
    case kMountSys: return "mount sysfs on /sys";
    case kFork: return "fork into the pid namespace";
    case sys::kStepExec: return "exec " + req.argv[0];
  }
  return plan.describe(f);
}

struct Bind {
  std::string src, dst, warning;
};

// /etc/netns/NAME/* -> /etc/*, computed before fork (no allocation in the child).
std::vector<Bind> etc_binds(const NsExecRequest& req) {
  std::vector<Bind> out;
  if (req.netns_name.empty()) return out;
  std::string dir = req.etc_netns_dir + "/" + req.netns_name;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    Bind b{dir + "/" + n, "/etc/" + n, {}};
    b.warning = fmt::format("podns: warning: bind {} over {} failed\n", b.src, b.dst);
    out.push_back(std::move(b));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const Bind& a, const Bind& b) { return a.src < b.src; });
  return out;
}

[[noreturn]] void child_fail(int fd, int32_t step, int err) { sys::child_report_and_exit(fd, {step, 0, err}); }

int wait_status(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return 127;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

Result<int> exec_in_namespaces(const NsExecRequest& req) {
  if (req.argv.empty() || req.argv[0].empty()) return fail(Errc::invalid_argument, "exec: no command given");
  // Join order from the table (user first), whatever order the request lists them in.
  std::vector<int> order;
  unsigned seen = 0;
  for (const auto& info : all_namespaces())
    for (size_t i = 0; i < req.namespaces.size(); ++i)
      if (req.namespaces[i].type() == info.type) {
        unsigned bit = 1u << static_cast<unsigned>(info.type);
        if (seen & bit) return fail(Errc::invalid_argument, fmt::format("exec: two {} namespaces", info.name));
        seen |= bit;
        order.push_back(static_cast<int>(i));
      }
  bool has_net = seen & (1u << static_cast<unsigned>(NamespaceType::net));
  bool has_pid = seen & (1u << static_cast<unsigned>(NamespaceType::pid));
  std::vector<Bind> binds = has_net ? etc_binds(req) : std::vector<Bind>{};
  unsigned long sys_flags = 0;
  if (has_net) {
    // As ip netns exec: keep /sys read-only if it is.
    struct statvfs sv {};
    if (::statvfs("/sys", &sv) == 0 && (sv.f_flag & ST_RDONLY)) sys_flags |= MS_RDONLY;
  }
  std::string sysfs_source = req.netns_name.empty() ? "sysfs" : req.netns_name;
  // Everything the child touches is built before the clone: the builder joins (in table order),
  // unshares the mount namespace for a netns, resets signals, closes stray fds and execs.
  sys::ChildSpec cs;
  cs.argv = req.argv;
  cs.exec_paths = sys::path_candidates(req.argv[0]);
  for (int i : order) cs.joins.push_back({req.namespaces[i].fd().get(), req.namespaces[i].info().clone_flag});
  if (has_net) cs.unshare_flags = CLONE_NEWNS;
  sys::ChildPlan plan(std::move(cs));
  if (auto s = plan.check(); !s) return fail_with(s, "exec");

  struct Args {
    const sys::ChildPlan* plan;
    int report;
    bool has_net, has_pid;
    const std::vector<Bind>* binds;
    const char* sysfs_source;
    unsigned long sys_flags;
  };
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) < 0) return fail_errno("exec: pipe");
  UniqueFd err_r(pipefd[0]), err_w(pipefd[1]);
  Args args{&plan, err_w.get(), has_net, has_pid, &binds, sysfs_source.c_str(), sys_flags};
  auto child_main = [](void* arg) -> int {
    // A copy of a possibly multi-threaded caller: only async-signal-safe calls.
    const Args& a = *static_cast<const Args*>(arg);
    int w = a.report;
    sys::ChildFailure f;
    if (!a.plan->reset_signals(f) || !a.plan->enter(f)) sys::child_report_and_exit(w, f);
    if (a.has_net) {
      // Our mounts must not leak back to the host; host mounts still reach us.
      if (::mount("", "/", nullptr, MS_SLAVE | MS_REC, nullptr) < 0) child_fail(w, kSlaveRoot, errno);
      if (::umount2("/sys", MNT_DETACH) < 0 && errno != EINVAL) child_fail(w, kUmountSys, errno);
      if (::mount(a.sysfs_source, "/sys", "sysfs", a.sys_flags, nullptr) < 0) child_fail(w, kMountSys, errno);
      for (const auto& b : *a.binds)
        if (::mount(b.src.c_str(), b.dst.c_str(), nullptr, MS_BIND, nullptr) < 0)
          (void)!::write(STDERR_FILENO, b.warning.data(), b.warning.size());
    }
    if (a.has_pid) {
      // setns(pid) applies to children: fork once more; this process forwards the exit status.
      long inner = sys::raw_clone(0, have_clone3());
      if (inner < 0) child_fail(w, kFork, errno);
      if (inner > 0) {
        ::close(w);
        ::_exit(wait_status(static_cast<pid_t>(inner)));
      }
    }
    if (a.plan->set_ids(f) && a.plan->arrange_fds(f, w)) a.plan->exec(f);
    sys::child_report_and_exit(w, f);
  };
  auto child = clone_process(CloneOptions{}, child_main, &args);
  if (!child) return fail_with(child, "exec");
  err_w.reset();
  sys::ChildFailure f{};
  ssize_t n;
  do n = sys::read(err_r.get(), &f, sizeof f);
  while (n < 0 && errno == EINTR);
  auto code = child->wait();
  if (n == sizeof f) return fail_errno(f.err, step_name(f, order, req, plan));
  if (!code) return fail_with(code, "exec " + req.argv[0]);
  return *code;
}

namespace {

// A set with a user namespace needs a helper that joins it first and becomes uid/gid 0 inside
// (spawn()); as `ip netns exec`, a mount namespace of its own gets the set's netns's sysfs on /sys.
Result<int> exec_in_userns_set(const std::vector<PinEntry>& pins, const std::vector<std::string>& argv,
                               const std::function<void(const std::string&)>& warn) {
  SpawnRequest req;
  req.argv = argv;
  bool net = false, mnt = false;
  for (const auto& p : pins) {
    if (!p.live) continue;
    req.namespaces.push_back({p.type, p.path});
    net |= p.type == NamespaceType::net;
    mnt |= p.type == NamespaceType::mnt;
  }
  if (warn) {
    for (const auto& w : namespace_ownership_warnings(req.namespaces)) warn(w);
  }
  if (net && !mnt) {
    req.namespaces.push_back({NamespaceType::mnt, ""});
    req.fresh_sysfs = true;
  }
  auto child = spawn(req);
  if (!child) return fail(child.error());
  return child->wait();
}

}  // namespace

Result<int> exec_in_pins(const Paths& paths, std::string_view name, const std::vector<std::string>& argv,
                         const std::function<void(const std::string&)>& warn) {
  auto pins = find_pins(paths, name);
  if (!pins) return fail_with(pins, "exec");
  if (std::any_of(pins->begin(), pins->end(), [](const PinEntry& p) { return p.live && p.type == NamespaceType::user; })) {
    auto r = exec_in_userns_set(*pins, argv, warn);
    if (!r) return fail_with(r, fmt::format("exec in {}", name));
    return r;
  }
  NsExecRequest req;
  req.argv = argv;
  for (const auto& p : *pins) {
    if (!p.live) continue;
    auto ns = Namespace::open_path(p.path, p.type);
    if (!ns) return fail_with(ns, fmt::format("exec in {}", name));
    if (p.type == NamespaceType::net) req.netns_name = std::string(name);
    req.namespaces.push_back(std::move(*ns));
  }
  if (req.namespaces.empty()) return fail(Errc::not_found, fmt::format("exec in {}: no such pin", name));
  auto r = exec_in_namespaces(req);
  if (!r) return fail_with(r, fmt::format("exec in {}", name));
  return r;
}

}  // namespace podns
