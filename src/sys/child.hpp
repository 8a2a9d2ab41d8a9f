// The one child-process builder. Every way podns starts a process goes through a ChildPlan: the
// parent describes the child (ChildSpec) and freezes it into plain arrays (argv, envp, the fd plan,
// the groups) before cloning; the child then only walks those arrays with raw syscalls, in a fixed
// order:
//   1. signals: every disposition back to default, nothing blocked (an ignored SIGPIPE or a
//      blocked SIGTERM would otherwise survive execve);
//   2. session or process group; setns into the given fds; unshare; mounts made private;
//   3. ids: setgroups, setresgid, setresuid through syscall(2). glibc's wrappers broadcast the
//      change to every thread glibc believes exists; in a child cloned from a threaded parent that
//      list is a stale copy, and a thread caught mid-creation at the clone makes it wait forever;
//   4. fds: the handed-over ones dup'ed into place, every other fd closed (close_range);
//   5. chdir; execve.
// Sites with steps of their own in between (the spawn helper's user-namespace handshake, ns exec's
// /sys and /etc mounts, the pause process) call the steps one by one; the rest call start_child().
//
// The child is a copy of a possibly multi-threaded parent: no allocation, no locks, no exceptions
// below the "child side" line. Failures come back as a ChildFailure (step, index, errno) that
// the parent turns into "exec /usr/lib/cni/bridge: No such file or directory".
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "podns/error.hpp"
#include "podns/fd.hpp"
#include "podns/process.hpp"

namespace podns::sys {

struct ChildFd {
  int parent_fd;  // open in the parent (close-on-exec or not, it does not matter)
  int child_fd;   // its number in the child
};

struct ChildJoin {
  int fd;      // an nsfs fd (or a pidfd) open in the parent
  int nstype;  // CLONE_NEW* for setns(2)
};

struct ChildIds {
  uid_t uid = 0;
  gid_t gid = 0;
  // The supplementary groups; nullopt leaves them as they are.
  std::optional<std::vector<gid_t>> groups;
  // A user namespace with setgroups denied refuses setgroups with EPERM; the groups are the
  // overflow gid there anyway (nsenter goes on too).
  bool groups_eperm_ok = false;
};

enum class ChildSession { inherit, new_session, new_process_group };

struct ChildSpec {
  std::vector<std::string> argv;
  // Paths execve tries in order (a PATH search done by the parent: path_candidates()). Empty:
  // argv[0] as it is.
  std::vector<std::string> exec_paths;
  // nullopt: the parent's environment at the time of the clone.
  std::optional<std::vector<std::string>> env;
  // Handed over. 0, 1 and 2 stay as they are unless mapped here; every other fd is closed.
  std::vector<ChildFd> fds;
  std::string cwd;  // empty: stay
  ChildSession session = ChildSession::inherit;
  std::vector<ChildJoin> joins;  // in this order
  int unshare_flags = 0;
  // Make every mount private (MS_REC): for a child cloned or unshared into a new mount namespace
  // whose mounts must not propagate back to the host.
  bool private_mounts = false;
  std::optional<ChildIds> ids;
};

// Which step failed (ChildFailure::step). Sites number their own steps from kSiteStep up.
enum ChildStep : int32_t {
  kStepNone = 0,
  kStepSignals,
  kStepSession,
  kStepSetns,
  kStepUnshare,
  kStepPrivateMounts,
  kStepSetgroups,
  kStepSetgid,
  kStepSetuid,
  kStepFds,
  kStepCloseFds,
  kStepChdir,
  kStepExec,
  kSiteStep = 100,
};

// What the child reports; plain data, written whole to a pipe or socket.
struct ChildFailure {
  int32_t step = kStepNone;
  int32_t index = 0;  // which join, which fd mapping
  int32_t err = 0;
};

// Most fds a plan hands over (the child parks them on its stack).
inline constexpr std::size_t kMaxChildFds = 64;

// argv[0] resolved against the caller's PATH the way execvp does, as a list of candidates for the
// child to try (so the lookup sees the child's mount namespace). A name with a '/' is itself.
std::vector<std::string> path_candidates(std::string_view prog, const char* path_env = nullptr);

class ChildPlan {
 public:
  explicit ChildPlan(ChildSpec spec);
  // Its arrays point into itself.
  ChildPlan(const ChildPlan&) = delete;
  ChildPlan& operator=(const ChildPlan&) = delete;

  const ChildSpec& spec() const noexcept { return spec_; }
  // Bad fd numbers, too many fds, an empty argv for an exec.
  [[nodiscard]] Status check(bool exec = true) const;
  // The parent's words for a failure of a builder step: "exec /usr/lib/cni/bridge", "chdir /srv".
  std::string describe(const ChildFailure& f) const;

  // ---- child side: async-signal-safe, each returns false with `f` filled on failure ---------------
  bool reset_signals(ChildFailure& f) const noexcept;
  // Session, joins, unshare, private mounts.
  bool enter(ChildFailure& f) const noexcept;
  bool set_ids(ChildFailure& f) const noexcept;
  // Handed-over fds into place, every other fd closed except `keep` (a close-on-exec fd the caller
  // still needs until exec, e.g. its report pipe; -1 for none), which is moved above the mapped
  // numbers: its new number is stored back. Then chdir.
  bool arrange_fds(ChildFailure& f, int& keep) const noexcept;
  // execve each candidate; returns only on failure.
  void exec(ChildFailure& f) const noexcept;
  // All of the above in order; returns only on failure.
  void run(ChildFailure& f, int& keep) const noexcept;

 private:
  ChildSpec spec_;
  std::vector<char*> argv_;
  std::vector<char*> envp_;  // empty: inherit environ
  std::vector<const char*> paths_;
  const char* cwd_ = nullptr;
};

// Write `f` to `fd` (a pipe or a socket) and _exit(127).
[[noreturn]] void child_report_and_exit(int fd, const ChildFailure& f) noexcept;

// Clone (clone_process: clone3 + CLONE_PIDFD, `clone` may add CLONE_NEW* flags), run the plan,
// and return once the child has exec'd (a close-on-exec pipe reads EOF). A failure of any step is
// an error naming it ("exec /nonexistent: No such file or directory"); the child is reaped then.
[[nodiscard]] Result<ChildProcess> start_child(const ChildPlan& plan, const CloneOptions& clone = {});

}  // namespace podns::sys
