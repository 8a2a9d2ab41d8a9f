// The rootless session: podman's "pause process" model. An unprivileged user cannot create mounts
// in the host's mount namespace, so pins (bind mounts of nsfs files) are impossible there. Instead
// one long-lived process per user and run dir, `podns-pause`, owns a user namespace (0 -> the user,
// 1..N -> the user's /etc/subuid and /etc/subgid ranges, through newuidmap/newgidmap; the user
// alone when there are none) and a mount namespace created inside it, and does nothing but wait.
// Every podns command of that user joins both (setns through the pause process's pidfd) before it
// does anything else, and inside them it is "root": pins, pin dirs and netns creation work as for
// root, below the user's run dir. Pods' namespaces are owned by the session's user namespace.
//
// Files in the run dir (the user's Paths::run_dir, $XDG_RUNTIME_DIR/podns by default):
//   pause.pid      "PID START_TIME\n" of the pause process (start time: field 22 of /proc/PID/stat,
//                  so a reused PID is never taken for it, nor signalled)
//   pause.lock     flock'ed exclusively while a session is found or started: two concurrent first
//                  commands start only one pause process
//   session.lock   every joined command holds a shared flock on it for its lifetime; stopping the
//                  session takes it exclusively without blocking, so no command is ever between
//                  "read the pid file" and "joined" when the pause process is killed
//
// The session stops (pause process killed, pid file removed) when a joined command ends, nothing is
// pinned below the run dir any more, and no other command is joined: it never outlives the last pod.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "podns/error.hpp"
#include "podns/fd.hpp"
#include "podns/file_lock.hpp"
#include "podns/idmap.hpp"
#include "podns/paths.hpp"

namespace podns::rootless {

inline constexpr const char* kPauseComm = "podns-pause";

struct SessionOptions {
  std::string run_dir;     // where pause.pid, pause.lock and session.lock live (created 0700)
  SubidFiles subid_files;  // /etc/subuid and /etc/subgid (tests point these at other files)
  std::chrono::milliseconds start_timeout{10000};
};

struct SessionInfo {
  pid_t pid = 0;
  uint64_t start_time = 0;
  std::string pid_file;
  std::string uid_map;  // /proc/PID/uid_map of the pause process, as the kernel shows it to the caller
  std::string gid_map;
};
// {"pid", "startTime", "pidFile", "uidMap", "gidMap"}
void to_json(nlohmann::json& j, const SessionInfo& s);

// The maps a new session gets for the caller: 0 -> the caller's uid/gid (1 id), then 1..N -> every
// subordinate range of the caller in files.subuid / files.subgid, in file order. With no range in
// a file, that map is the caller alone (and setgroups is denied, as the kernel requires for an
// unprivileged gid map).
[[nodiscard]] Result<IdMappings> session_idmappings(const SubidFiles& files = {});

// The session of run_dir when its pause process runs: the pid file names a live process with the
// recorded start time, comm podns-pause, owned by the caller. nullopt otherwise (no pid file, a
// dead PID, a PID reused by another process): such a file is stale, never a reason to signal.
[[nodiscard]] Result<std::optional<SessionInfo>> find_session(const std::string& run_dir);

// find_session, or start a new pause process (under pause.lock) and record it in pause.pid.
// The pause process is detached: a new session (setsid), stdio on /dev/null, every other fd
// closed, and not a child of the caller (double fork), so it never becomes a zombie of a library
// caller.
[[nodiscard]] Result<SessionInfo> ensure_session(const SessionOptions& options);

// Whether the calling process already is in the session's user namespace (a podns run under
// `podns unshare`).
[[nodiscard]] Result<bool> inside_session(const SessionInfo& session);

// A command joined to the session: it holds a shared lock on session.lock until release() or
// destruction. Move-only.
class JoinedSession {
 public:
  JoinedSession() = default;
  JoinedSession(std::string run_dir, SessionInfo info, FileLock lock, bool joined_now)
      : run_dir_(std::move(run_dir)), info_(std::move(info)), lock_(std::move(lock)), joined_now_(joined_now) {}
  JoinedSession(JoinedSession&&) noexcept = default;
  JoinedSession& operator=(JoinedSession&&) noexcept = default;

  const SessionInfo& info() const { return info_; }
  const std::string& run_dir() const { return run_dir_; }
  // False when the caller was inside the session already.
  bool joined_now() const { return joined_now_; }
  explicit operator bool() const { return lock_.held(); }
  // Hand the lock's fd to the caller (to pass it across an exec; adopt_joined_session takes it back).
  [[nodiscard]] int take_lock_fd() { return lock_.release_fd(); }

  // End of the command: give up the shared lock and, when nothing is pinned below the run dir and
  // no other command is joined, stop the session. true when it was stopped.
  [[nodiscard]] Result<bool> release_and_stop_if_idle();

  // `podns session stop`: stop the session now. Errc::busy while other commands are joined;
  // Errc::busy naming the pins while anything is pinned, unless `force` (the pins then die with
  // the session's mount namespace; their pods are reported broken and `pod rm`/`gc` remove them).
  [[nodiscard]] Status stop(bool force);

 private:
  std::string run_dir_;
  SessionInfo info_;
  FileLock lock_;
  bool joined_now_ = false;
};

// Take the shared session lock, find or start the session, and move the calling process into its
// user and mount namespaces (setns through the pause process's pidfd), then chdir back to the
// caller's working directory (joining a mount namespace resets it to its root). The caller must be
// single-threaded (the kernel refuses setns into a user namespace otherwise:
// Errc::wrong_thread_model). A no-op join when already inside.
// With start = false, Errc::not_found when no session runs (and nothing is started).
[[nodiscard]] Result<JoinedSession> join_session(const SessionOptions& options, bool start = true);

// A process that joined with setns keeps the initial user namespace as the owner of its memory
// map (set at exec only): a child it forks that then changes credentials (becomes root in a nested
// user namespace) turns non-dumpable, and /proc/CHILD/ns/* become unreadable to the session's root
// (EACCES). enter_session therefore execs the image again once joined, handing the shared lock
// across the exec: the new image adopts it here. Checks that `lock_fd` is run_dir's session.lock
// and that the caller is inside the recorded session.
[[nodiscard]] Result<JoinedSession> adopt_joined_session(const std::string& run_dir, int lock_fd);

// Set in the environment of an image enter_session execs: the fd of its shared session lock.
inline constexpr const char* kSessionLockEnv = "PODNS_SESSION_LOCK_FD";

// A whole process inside the session, as the CLI runs every verb that touches pins or state:
// - in an image that enter_session exec'd (kSessionLockEnv set): adopt the handed-over lock;
// - as root: nothing to enter (nullopt);
// - else join the session (starting it when needed) and, when that moved the process in just
//   now, exec /proc/self/exe with `argv` again, the lock handed over across the exec (see
//   adopt_joined_session for why), after setting PODNS_RUN_DIR and PODNS_STATE_DIR to `paths`
//   (inside, getuid() is 0 and Paths::from_environment would pick root's dirs).
// Returns only when no exec was needed, or with what stopped it. Single-threaded callers only.
// Release the session at the end with release_and_stop_if_idle().
[[nodiscard]] Result<std::optional<JoinedSession>> enter_session(const Paths& paths, char* const argv[]);

// `podns session stop`: join without starting and stop (JoinedSession::stop). The pause process's
// pid when one was stopped; nullopt when none ran, or for root, who has no session.
[[nodiscard]] Result<std::optional<pid_t>> stop_session(const SessionOptions& options, bool force);

// The nsfs mounts below run_dir in the caller's mount namespace ("<mount point>"): what keeps a
// session busy. Called inside the session.
[[nodiscard]] Result<std::vector<std::string>> session_pins(const std::string& run_dir);

}  // namespace podns::rootless
