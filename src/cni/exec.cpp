// ProcessExec: spawn a plugin in its own process group, feed stdin, collect stdout and stderr, and
// enforce the deadline by killing the whole group.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
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
#include "podns/process.hpp"
#include "sys/child.hpp"
#include "sys/io.hpp"

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

  // Through the child-process builder: its own process group (so the deadline can kill the
  // plugin and everything it started), empty signal mask and default dispositions whatever the
  // embedding program did to its own, and nothing of ours open but stdin/stdout/stderr.
  sys::ChildSpec spec;
  spec.argv = {req.path};
  spec.argv.insert(spec.argv.end(), req.args.begin(), req.args.end());
  spec.env = req.env;
  spec.fds = {{in_child.get(), 0}, {out_pipe->second.get(), 1}, {err_pipe->second.get(), 2}};
  spec.session = sys::ChildSession::new_process_group;
  sys::ChildPlan plan(std::move(spec));
  Result<ChildProcess> started = fail(Errc::invalid_argument, "exec " + req.path);
  for (int attempt = 0; attempt < kSpawnAttempts; ++attempt) {
    started = sys::start_child(plan);
    // ETXTBSY: the binary is open for writing (being installed or upgraded right now). libcni
    // retries too; a short backoff is enough for an installer's rename to land.
    if (started || !started.error().is(std::errc::text_file_busy)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20 << attempt));
  }
  if (!started) return fail(started.error());
  // The group id is the child's pid; Child kills the group and reaps through the pid while it is
  // unreaped (so the pid is stable), keeping its own copy of the pidfd for poll.
  pid_t pid = started->pid();
  UniqueFd pidfd(started->pidfd() ? ::fcntl(started->pidfd().get(), F_DUPFD_CLOEXEC, 3) : -1);
  (void)started->detach();
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
      ssize_t w = sys::send(in_parent.get(), req.input.data() + written, req.input.size() - written, MSG_NOSIGNAL);
      if (w > 0) written += static_cast<std::size_t>(w);
      // EPIPE: the plugin closed stdin without reading all of it; its exit status will tell.
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == req.input.size()) {
        ::shutdown(in_parent.get(), SHUT_WR);
        in_parent.reset();
      }
    }
    auto drain = [&](int idx, UniqueFd& fd, std::string& into) {
      if (idx < 0 || !pfds[idx].revents) return;
      ssize_t r = sys::read(fd.get(), buf, sizeof buf);
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
