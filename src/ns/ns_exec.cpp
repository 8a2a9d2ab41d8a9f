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

namespace podns {
namespace {

// What the child reports over the error pipe when a step fails (exec success closes it: EOF).
struct ChildFailure {
  int step;
  int err;
};
enum Step { kSetns = 1, kUnshareMnt, kSlaveRoot, kUmountSys, kMountSys, kFork, kExec };

std::string step_name(int step, int index, const NsExecRequest& req) {
  switch (step) {
    case kSetns:
      return index >= 0 && index < static_cast<int>(req.namespaces.size())
                 ? fmt::format("enter {} namespace", to_string(req.namespaces[index].type()))
                 : "enter namespace";
    case kUnshareMnt: return "unshare mount namespace";
    case kSlaveRoot: return "make / a slave mount";
    case kUmountSys: return "unmount /sys";
    case kMountSys: return "mount sysfs on /sys";
    case kFork: return "fork into the pid namespace";
    case kExec: return "exec " + req.argv[0];
  }
  return "exec";
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

[[noreturn]] void child_fail(int fd, int step, int index, int err) {
  ChildFailure f{step * 100 + index, err};  // index: which namespace, for setns
  (void)!::write(fd, &f, sizeof f);
  _exit(127);
}

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
  std::vector<char*> argv;
  for (const auto& a : req.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) < 0) return fail_errno("exec: pipe");
  UniqueFd err_r(pipefd[0]), err_w(pipefd[1]);
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("exec: fork");
  if (pid == 0) {
    // Single-threaded from here: only async-signal-safe calls.
    int w = err_w.get();
    for (int i : order) {
      const Namespace& ns = req.namespaces[i];
      if (::setns(ns.fd().get(), ns.info().clone_flag) < 0) child_fail(w, kSetns, i, errno);
    }
    if (has_net) {
      if (::unshare(CLONE_NEWNS) < 0) child_fail(w, kUnshareMnt, 0, errno);
      // Our mounts must not leak back to the host; host mounts still reach us.
      if (::mount("", "/", nullptr, MS_SLAVE | MS_REC, nullptr) < 0) child_fail(w, kSlaveRoot, 0, errno);
      if (::umount2("/sys", MNT_DETACH) < 0 && errno != EINVAL) child_fail(w, kUmountSys, 0, errno);
      if (::mount(sysfs_source.c_str(), "/sys", "sysfs", sys_flags, nullptr) < 0) child_fail(w, kMountSys, 0, errno);
      for (const auto& b : binds)
        if (::mount(b.src.c_str(), b.dst.c_str(), nullptr, MS_BIND, nullptr) < 0)
          (void)!::write(STDERR_FILENO, b.warning.data(), b.warning.size());
    }
    if (has_pid) {
      // setns(pid) applies to children: fork once more; this process forwards the exit status.
      pid_t inner = ::fork();
      if (inner < 0) child_fail(w, kFork, 0, errno);
      if (inner > 0) {
        ::close(w);
        _exit(wait_status(inner));
      }
    }
    ::execvp(argv[0], argv.data());
    child_fail(w, kExec, 0, errno);
  }
  err_w.reset();
  ChildFailure f{};
  ssize_t n;
  do n = ::read(err_r.get(), &f, sizeof f);
  while (n < 0 && errno == EINTR);
  int code = wait_status(pid);
  if (n == sizeof f) return fail_errno(f.err, step_name(f.step / 100, f.step % 100, req));
  return code;
}

Result<int> exec_in_pins(const Paths& paths, std::string_view name, const std::vector<std::string>& argv) {
  auto pins = find_pins(paths, name);
  if (!pins) return fail_with(pins, "exec");
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
