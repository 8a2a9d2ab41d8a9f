// ProcessExec: spawn a plugin in its own process group, feed stdin, collect stdout and stderr, and
// enforce the deadline by killing the whole group.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "podns/cni/invoke.hpp"
#include "podns/fd.hpp"

namespace podns::cni {
namespace {

// Output beyond this is read and dropped: a runaway plugin must not exhaust our memory.
constexpr std::size_t kMaxOutput = 16u << 20;
constexpr int kSpawnAttempts = 5;

// The spawned plugin: killed (with its whole process group) and reaped unless waited for.
class Child {
 public:
  Child(pid_t pid, UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid_ > 0) {
      kill_group();
      int status;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }
  void kill_group() const {
    // The group id is the child's pid (POSIX_SPAWN_SETPGROUP with 0). While the child is unreaped
    // its pid cannot be reused, so this never hits a stranger's group.
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
  }
  FdView pidfd() const { return pidfd_.view(); }
  // Reap; returns the wait status.
  int wait() {
    int status = 0;
    pid_t r;
    while ((r = ::waitpid(pid_, &status, 0)) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return r < 0 ? -1 : status;
  }

 private:
  pid_t pid_;
  UniqueFd pidfd_;
};

Result<std::pair<UniqueFd, UniqueFd>> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return fail_errno("pipe");
  return std::pair{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

Result<ExecOutput> ProcessExec::run(const ExecRequest& req) {
  // stdin is a socket, not a pipe, so that writing to a plugin that exits without reading gives
  // EPIPE from send(MSG_NOSIGNAL) rather than a process-wide SIGPIPE.
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) return fail_errno("socketpair");
  UniqueFd in_parent(sp[0]), in_child(sp[1]);
  auto out_pipe = make_pipe();
  if (!out_pipe) return std::unexpected(out_pipe.error());
  auto err_pipe = make_pipe();
  if (!err_pipe) return std::unexpected(err_pipe.error());

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&fa, in_child.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, out_pipe->second.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err_pipe->second.get(), 2);
  // Own process group (so the deadline can kill the plugin and everything it started), empty signal
  // mask and default dispositions whatever the embedding program did to its own.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> argv_s = {req.path};
  auto argv = c_strings(argv_s);
  auto envp = c_strings(req.env);
  pid_t pid = -1;
  int rc = 0;
  for (int attempt = 0; attempt < kSpawnAttempts; ++attempt) {
    rc = ::posix_spawn(&pid, req.path.c_str(), &fa, &attr, argv.data(), envp.data());
    // ETXTBSY: the binary is open for writing (being installed or upgraded right now). libcni
    // retries too; a short backoff is enough for an installer's rename to land.
    if (rc != ETXTBSY) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20 << attempt));
  }
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return fail_errno(rc, "exec " + req.path);

  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  // pidfd_open cannot fail for our own unreaped child except on kernels < 5.3; then we poll pipes
  // only and rely on EOF.
  Child child(pid, std::move(pidfd));
  in_child.reset();
  out_pipe->second.reset();
  err_pipe->second.reset();

  ExecOutput result;
  UniqueFd out_fd = std::move(out_pipe->first), err_fd = std::move(err_pipe->first);
  std::size_t written = 0;
  if (req.input.empty()) ::shutdown(in_parent.get(), SHUT_WR), in_parent.reset();
  else ::fcntl(in_parent.get(), F_SETFL, O_NONBLOCK);

  const auto deadline = std::chrono::steady_clock::now() + req.deadline;
  auto read_until = deadline;
  bool exited = false;
  char buf[16384];
  while (out_fd || err_fd || (!exited && child.pidfd())) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(read_until - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      // Exited, but something it started still holds stdout/stderr open: take what we have.
      if (exited) break;
      result.timed_out = true;
      child.kill_group();
      break;
    }
    pollfd pfds[4];
    int n = 0;
    int i_in = -1, i_out = -1, i_err = -1, i_pid = -1;
    if (in_parent) pfds[i_in = n++] = {in_parent.get(), POLLOUT, 0};
    if (out_fd) pfds[i_out = n++] = {out_fd.get(), POLLIN, 0};
    if (err_fd) pfds[i_err = n++] = {err_fd.get(), POLLIN, 0};
    if (!exited && child.pidfd()) pfds[i_pid = n++] = {child.pidfd().get(), POLLIN, 0};
    int pr = ::poll(pfds, n, static_cast<int>(std::min<long long>(left.count() + 1, 1000)));
    if (pr < 0 && errno != EINTR) return fail_errno("poll plugin " + req.path);
    if (pr <= 0) continue;
    if (i_in >= 0 && pfds[i_in].revents) {
      ssize_t w = ::send(in_parent.get(), req.input.data() + written, req.input.size() - written, MSG_NOSIGNAL);
      if (w > 0) written += static_cast<std::size_t>(w);
      // EPIPE: the plugin closed stdin without reading all of it; its exit status will tell.
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == req.input.size()) {
        ::shutdown(in_parent.get(), SHUT_WR);
        in_parent.reset();
      }
    }
    auto drain = [&](int idx, UniqueFd& fd, std::string& into) {
      if (idx < 0 || !pfds[idx].revents) return;
      ssize_t r = ::read(fd.get(), buf, sizeof buf);
      if (r > 0) {
        if (into.size() < kMaxOutput) into.append(buf, std::min<std::size_t>(r, kMaxOutput - into.size()));
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        fd.reset();
      }
    };
    drain(i_out, out_fd, result.out);
    drain(i_err, err_fd, result.err);
    if (i_pid >= 0 && pfds[i_pid].revents) {
      exited = true;
      read_until = std::min(deadline, std::chrono::steady_clock::now() + std::chrono::seconds(1));
    }
  }
  int status = child.wait();
  if (result.timed_out) {
    result.exit_code = -1;
    result.signal = SIGKILL;
  } else if (status >= 0 && WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (status >= 0 && WIFSIGNALED(status)) {
    result.exit_code = -1;
    result.signal = WTERMSIG(status);
  } else {
    result.exit_code = -1;
  }
  return result;
}

}  // namespace podns::cni
