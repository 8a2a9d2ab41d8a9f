#include "rootless/helper_process.hpp"

#include "podns/process.hpp"
#include "sys/child.hpp"
#include "sys/proc_status.hpp"
#include "podns/read_file.hpp"

#include <fcntl.h>
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
#include <sstream>

#include <fmt/format.h>

namespace podns::rootless::detail {

Result<Spawned> spawn_helper(const std::string& path, const std::vector<std::string>& argv,
                             const std::vector<FdMap>& fds, const SpawnOptions& options) {
  // Through the child-process builder: default signal dispositions and mask, a new session (a
  // terminal's ^C must not reach a helper that outlives the CLI), only the mapped fds open.
  sys::ChildSpec spec;
  spec.argv = argv;
  spec.exec_paths = {path};
  UniqueFd devnull;
  if (std::none_of(fds.begin(), fds.end(), [](const FdMap& m) { return m.child_fd == 0; })) {
    devnull.reset(open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!devnull) return fail_errno("open /dev/null");
    spec.fds.push_back({devnull.get(), 0});
  }
  for (const FdMap& m : fds) spec.fds.push_back({m.parent_fd, m.child_fd});
  spec.session = sys::ChildSession::new_session;
  CloneOptions clone_options;
  if (options.private_mount_ns) {
    // Cloned into a new mount namespace whose mounts are still peers of the host's shared ones:
    // make them private so nothing the helper unmounts propagates back (see SpawnOptions).
    clone_options.namespace_flags = CLONE_NEWNS;
    spec.private_mounts = true;
  }
  sys::ChildPlan plan(std::move(spec));
  auto child = sys::start_child(plan, clone_options);
  if (!child) return fail(child.error());  // "exec /usr/bin/pasta: ..." already
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
  auto text = sys::read_proc_file(fmt::format("/proc/{}/stat", pid));
  if (!text || text->empty()) return fail(Errc::not_found, fmt::format("process {}", pid));
  std::string stat = text->substr(0, text->find('\n'));
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
  auto text = sys::read_proc_file(fmt::format("/proc/{}/comm", pid));
  if (!text) return {};
  return text->substr(0, text->find('\n'));
}

std::vector<std::string> proc_cmdline(pid_t pid) {
  // Helpers' command lines are short; one past this bound is no helper of ours (empty: no match).
  auto text = read_regular_file(fmt::format("/proc/{}/cmdline", pid), 1u << 20, Errc::corrupt);
  std::vector<std::string> out;
  if (!text) return out;
  std::string_view rest = *text;
  while (!rest.empty()) {
    auto nul = rest.find('\0');
    out.emplace_back(rest.substr(0, nul));
    rest = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
  }
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
  // The last 64 KiB hold far more than `max` bytes of lines, however long the log has grown.
  auto text = read_file_tail(path, 64 * 1024, Errc::corrupt);
  if (!text) return {};
  std::istringstream f(*text);
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

}  // namespace podns::rootless::detail
