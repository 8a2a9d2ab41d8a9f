// The process side of the rootless drivers: spawn a helper (slirp4netns, pasta) with a pidfd from
// birth (the child-process builder, sys/child.hpp), tell a live helper from a reused PID,
// and stop one. A helper outlives any ChildProcess handle (it is detached into the pod's state),
// so this file keeps a bare pidfd and reaps through waitid(P_PIDFD) while it is still our child.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "podns/error.hpp"
#include "podns/fd.hpp"

namespace podns::rootless::detail {

// parent_fd becomes child_fd in the helper; every other fd is closed there.
struct FdMap {
  int child_fd;
  int parent_fd;
};

struct SpawnOptions {
  // Start the helper in a mount namespace of its own with every mount private. slirp4netns's
  // --enable-sandbox (as root) unmounts what it does not need in a new mount namespace; copies of
  // shared mounts stay peers of the originals, so those unmounts propagate back and remove the
  // pod's netns pins from the host (the pin dir is shared on purpose, as `ip netns` makes it).
  // Needs CAP_SYS_ADMIN.
  bool private_mount_ns = false;
};

struct Spawned {
  pid_t pid = -1;
  UniqueFd pidfd;
};

// Started through the child-process builder (sys/child.hpp) in a new session (a terminal's ^C
// must not reach a helper that outlives the CLI). stdin is /dev/null unless mapped. An exec
// failure comes back as an error (errno through a CLOEXEC pipe), not as a child that exits 127.
Result<Spawned> spawn_helper(const std::string& path, const std::vector<std::string>& argv,
                             const std::vector<FdMap>& fds, const SpawnOptions& options = {});

// `tool` from PATH (plus /usr/sbin, /sbin), or Errc::not_found naming the Debian package.
Result<std::string> find_tool(std::string_view tool, std::string_view package);

// Field 22 of /proc/PID/stat (clock ticks since boot): with the PID, the identity of a process.
Result<uint64_t> proc_start_time(pid_t pid);
// The comm of PID (process name), empty when gone.
std::string proc_comm(pid_t pid);
// argv of PID, empty when gone or unreadable.
std::vector<std::string> proc_cmdline(pid_t pid);

// A pidfd for the recorded process, or nullopt when it is gone or the PID now names another one.
// Open first, then compare the start time: the process that had start_time and is still there
// after the open is the one the pidfd refers to.
Result<std::optional<UniqueFd>> open_recorded(pid_t pid, uint64_t start_time);

// Has the process behind pidfd exited? (pidfds poll readable on exit.)
bool has_exited(FdView pidfd);
// Wait up to `timeout` for exit; true when it exited.
bool wait_exit(FdView pidfd, std::chrono::milliseconds timeout);
// Reap it if it is our child (waitid P_PIDFD); returns the wait status text ("exited with status
// 1", "killed by signal 9") or empty when it is not our child or still running.
std::string reap(FdView pidfd);

// SIGTERM, wait up to `grace`, then SIGKILL and wait; reap when it is our child.
Status terminate(FdView pidfd, std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

// The last non-empty lines of a helper's log (for error messages), at most `max` bytes.
std::string log_tail(const std::string& path, size_t max = 400);

}  // namespace podns::rootless::detail
