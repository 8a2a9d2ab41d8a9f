#include "rootless/helper_process.hpp"

#include "podns/process.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/pidfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

extern char** environ;

namespace podns::rootless::detail {
namespace {

constexpr int kScratchFdBase = 100;  // mapped fds are parked above this before dup2 into place

// Runs in the child between clone and execve: raw syscalls only (the parent may be threaded, so
// no allocation, no locks). Reports an errno through `errpipe` when something fails.
[[noreturn]] void child_exec(const char* path, char* const* argv, char* const* envp, const FdMap* fds,
                             size_t nfds, int errpipe, bool private_mounts) {
  auto die = [errpipe](int err) {
    (void)!write(errpipe, &err, sizeof err);
    _exit(127);
  };
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  // Helpers expect default dispositions; an ignored SIGPIPE would survive execve.
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaction(sig, &dfl, nullptr);
  if (setsid() < 0) die(errno);
  // We were cloned into a new mount namespace whose mounts are still peers of the host's shared
  // ones: make them private so nothing the helper unmounts propagates back (see SpawnOptions).
  if (private_mounts && mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) die(errno);
  // Park every source above the targets first so that a source numbered like a target is not
  // clobbered, then dup2 into place (dup2 clears FD_CLOEXEC on the new fd).
  int parked[16];
  if (nfds > 16) die(EMFILE);
  for (size_t i = 0; i < nfds; ++i) {
    parked[i] = fcntl(fds[i].parent_fd, F_DUPFD_CLOEXEC, kScratchFdBase);
    if (parked[i] < 0) die(errno);
  }
  int max_fd = 2;
  for (size_t i = 0; i < nfds; ++i) {
    if (dup2(parked[i], fds[i].child_fd) < 0) die(errno);
    max_fd = std::max(max_fd, fds[i].child_fd);
  }
  // Whatever else is open (an fd some library opened without O_CLOEXEC) must not leak into the
  // helper: mark everything above the mapped fds close-on-exec (errpipe already is).
  if (syscall(SYS_close_range, max_fd + 1, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
    for (int fd = max_fd + 1; fd < 1024; ++fd)  // fallback for kernels before 5.11
      if (fd != errpipe) fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  execve(path, argv, envp);
  die(errno);
  _exit(127);  // not reached: die() exits
}

}  // namespace

Result<Spawned> spawn_helper(const std::string& path, const std::vector<std::string>& argv,
                             const std::vector<FdMap>& fds_in, const SpawnOptions& options) {
  std::vector<FdMap> fds = fds_in;
  UniqueFd devnull;
  if (std::none_of(fds.begin(), fds.end(), [](const FdMap& m) { return m.child_fd == 0; })) {
    devnull.reset(open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!devnull) return fail_errno("open /dev/null");
    fds.push_back({0, devnull.get()});
  }
  if (fds.size() > 16) return fail(Errc::invalid_argument, "spawn " + path + ": too many fds");
  // Everything the child touches is built before clone3.
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  int errpipe[2];
  if (pipe2(errpipe, O_CLOEXEC) < 0) return fail_errno("pipe2");
  UniqueFd err_r(errpipe[0]), err_w(errpipe[1]);

  struct ChildArgs {
    const char* path;
    char* const* argv;
    char* const* envp;
    const FdMap* fds;
    size_t nfds;
    int errpipe;
    bool private_mounts;
  } child_args{path.c_str(), cargv.data(), environ, fds.data(), fds.size(), err_w.get(), options.private_mount_ns};
  CloneOptions clone_options;
  if (options.private_mount_ns) clone_options.namespace_flags = CLONE_NEWNS;
  auto child = clone_process(clone_options, [](void* p) -> int {
    auto* a = static_cast<ChildArgs*>(p);
    child_exec(a->path, a->argv, a->envp, a->fds, a->nfds, a->errpipe, a->private_mounts);
  }, &child_args);
  if (!child) return fail_with(child, "spawn " + path);
  pid_t pid = child->pid();
  // The helper may outlive the ChildProcess handle (a detached pod helper): keep our own pidfd,
  // then let the handle forget the process; stop()/terminate() reap it when it is still ours.
  UniqueFd owned_pidfd(fcntl(child->pidfd().get(), F_DUPFD_CLOEXEC, 3));
  if (!owned_pidfd) {
    int err = errno;
    (void)child->kill_and_wait();
    return fail_errno(err, "dup pidfd of " + path);
  }
  (void)child->detach();
  err_w.reset();
  int child_errno = 0;
  ssize_t n;
  do n = read(err_r.get(), &child_errno, sizeof child_errno);
  while (n < 0 && errno == EINTR);
  if (n == sizeof child_errno) {
    // The child is exiting with 127; reap it so it does not linger as a zombie.
    siginfo_t info;
    while (waitid(P_PIDFD, static_cast<id_t>(owned_pidfd.get()), &info, WEXITED) < 0 && errno == EINTR) {
    }
    return fail_errno(child_errno, "exec " + path);
  }
  return Spawned{pid, std::move(owned_pidfd)};
}

Result<std::string> find_tool(std::string_view tool, std::string_view package) {
  std::string name(tool);
  if (name.find('/') != std::string::npos) {
    if (access(name.c_str(), X_OK) == 0) return name;
    return fail(Errc::not_found, fmt::format("{} not found or not executable (install the Debian package {})",
                                             name, package));
  }
  const char* env = std::getenv("PATH");
  std::string path = env && *env ? env : "/usr/local/bin:/usr/bin:/bin";
  path += ":/usr/sbin:/sbin";
  std::istringstream ss(path);
  for (std::string dir; std::getline(ss, dir, ':');) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    struct stat st;
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return fail(Errc::not_found, fmt::format("{} not found in PATH (install the Debian package {})", name, package));
}

Result<uint64_t> proc_start_time(pid_t pid) {
  std::ifstream f(fmt::format("/proc/{}/stat", pid));
  std::string stat;
  if (!f || !std::getline(f, stat)) return fail(Errc::not_found, fmt::format("process {}", pid));
  // comm may contain spaces and parentheses: fields resume after the last ')'.
  auto close = stat.rfind(')');
  if (close == std::string::npos) return fail(Errc::corrupt, fmt::format("/proc/{}/stat", pid));
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  // After ')' come field 3 (state) ... field 22 (starttime): skip 19, read the 20th.
  for (int i = 3; i < 22; ++i) rest >> field;
  uint64_t start = 0;
  if (!(rest >> start)) return fail(Errc::corrupt, fmt::format("/proc/{}/stat: no start time", pid));
  return start;
}

std::string proc_comm(pid_t pid) {
  std::ifstream f(fmt::format("/proc/{}/comm", pid));
  std::string comm;
  std::getline(f, comm);
  return comm;
}

std::vector<std::string> proc_cmdline(pid_t pid) {
  std::ifstream f(fmt::format("/proc/{}/cmdline", pid), std::ios::binary);
  std::vector<std::string> out;
  for (std::string arg; std::getline(f, arg, '\0');) out.push_back(arg);
  return out;
}

Result<std::optional<UniqueFd>> open_recorded(pid_t pid, uint64_t start_time) {
  if (pid <= 0) return std::optional<UniqueFd>();
  UniqueFd fd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (!fd) {
    if (errno == ESRCH) return std::optional<UniqueFd>();
    return fail_errno(fmt::format("pidfd_open {}", pid));
  }
  auto st = proc_start_time(pid);
  if (!st || *st != start_time || has_exited(fd.view())) return std::optional<UniqueFd>();
  return std::optional<UniqueFd>(std::move(fd));
}

bool has_exited(FdView pidfd) { return wait_exit(pidfd, std::chrono::milliseconds(0)); }

bool wait_exit(FdView pidfd, std::chrono::milliseconds timeout) {
  pollfd p = {pidfd.get(), POLLIN, 0};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    int r = poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return false;
  }
}

std::string reap(FdView pidfd) {
  siginfo_t info = {};
  int r;
  do r = waitid(P_PIDFD, static_cast<id_t>(pidfd.get()), &info, WEXITED | WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r < 0 || info.si_pid == 0) return {};
  if (info.si_code == CLD_EXITED) return fmt::format("exited with status {}", info.si_status);
  return fmt::format("killed by signal {} ({})", info.si_status, strsignal(info.si_status));
}

Status terminate(FdView pidfd, std::chrono::milliseconds grace) {
  if (!has_exited(pidfd)) {
    if (syscall(SYS_pidfd_send_signal, pidfd.get(), SIGTERM, nullptr, 0) < 0 && errno != ESRCH)
      return fail_errno("signal helper");
    if (!wait_exit(pidfd, grace)) {
      if (syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0) < 0 && errno != ESRCH)
        return fail_errno("kill helper");
      if (!wait_exit(pidfd, std::chrono::milliseconds(5000)))
        return fail(Errc::timed_out, "helper did not exit after SIGKILL");
    }
  }
  (void)reap(pidfd);
  return {};
}

std::string log_tail(const std::string& path, size_t max) {
  std::ifstream f(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(f, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  std::string out;
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (out.size() + it->size() + 2 > max) break;
    out = out.empty() ? *it : *it + "; " + out;
  }
  return out;
}

Status make_private_dir(const std::string& dir) {
  if (dir.empty()) return fail(Errc::invalid_argument, "empty directory path");
  std::string partial;
  std::istringstream ss(dir);
  if (dir[0] == '/') partial = "";
  for (std::string comp; std::getline(ss, comp, '/');) {
    if (comp.empty()) continue;
    partial += (partial.empty() && dir[0] != '/' ? "" : "/") + comp;
    if (mkdir(partial.c_str(), 0700) < 0 && errno != EEXIST) return fail_errno("mkdir " + partial);
  }
  struct stat st;
  if (stat(dir.c_str(), &st) < 0) return fail_errno("stat " + dir);
  if (!S_ISDIR(st.st_mode)) return fail(Errc::invalid_argument, dir + " is not a directory");
  return {};
}

}  // namespace podns::rootless::detail
