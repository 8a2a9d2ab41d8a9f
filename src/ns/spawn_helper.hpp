// The single-threaded helper child behind spawn() and create_userns_set(): a plan prepared by the
// parent (plain C data, so the child never allocates; it may be a copy of a multi-threaded
// process), executed in the child, driven over a SOCK_SEQPACKET socketpair.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "podns/error.hpp"
#include "podns/fd.hpp"
#include "podns/idmap.hpp"
#include "podns/namespace.hpp"
#include "podns/process.hpp"
#include "podns/spawn.hpp"

namespace podns::detail {

struct HelperSysctl {
  std::string path;   // /proc/sys/net/ipv4/ip_forward
  std::string value;
  std::string key;    // for messages
};

// A bind mount made in the new mount namespace; one that fails writes `warning` to stderr and the
// process goes on, as iproute2 does for /etc/netns.
struct HelperBind {
  std::string source, target, warning;
};

struct HelperSpec {
  std::vector<Namespace> joins;     // opened and type-checked by the parent, in table order
  std::vector<std::string> join_paths;
  bool create_user = false;
  uint64_t create_flags = 0;        // CLONE_NEW* of the other namespaces to create
  IdMappings idmaps;
  bool become_root = true;
  std::vector<HelperSysctl> sysctls;
  // With a new mount namespace: make this (shared) pin dir private inside it right after the
  // unshare, so pinning the new mount namespace there cannot propagate into itself (a reference
  // cycle that keeps it alive forever).
  std::string mnt_private_dir;
  // Pause mode: report ready once the namespaces are in place and block until killed (the parent
  // pins /proc/PID/ns/*). Otherwise exec `argv`.
  bool pause = false;
  std::vector<std::string> argv;
  std::vector<std::string> exec_candidates;  // argv[0] resolved against PATH, tried in order
  std::optional<std::vector<std::string>> env;
  std::vector<FdMapping> fds;
  std::string cwd;
  bool fork_last = false;            // pid/time namespace: exec in a grandchild (CLONE_PARENT)
  // After the unshare of a mount namespace: a new sysfs on /sys (source name and flags as
  // `ip netns exec` gives them), then the bind mounts (/etc/netns/NAME/* over /etc/*).
  bool fresh_sysfs = false;
  std::string sysfs_source = "sysfs";
  unsigned long sysfs_flags = 0;
  std::vector<HelperBind> binds;
};

// The running helper (pause mode) or the spawned process (exec mode). In pause mode `proc_dir` is
// the helper's /proc/PID, opened while it was our unreaped child.
struct HelperResult {
  ChildProcess process;
  UniqueFd proc_dir;
  UniqueFd sock;  // pause mode: closing it (or killing the helper) ends the helper
  // Pause mode with a new pid namespace: pidfd of its init (ns/pidns_holder.hpp), which outlives
  // the helper; the caller kills it if it does not pin the namespace. Its pid and start time are
  // what the caller records once it is pinned.
  UniqueFd pid_holder;
  pid_t pid_holder_pid = -1;
  uint64_t pid_holder_start_time = 0;
};

[[nodiscard]] Result<HelperResult> run_helper(HelperSpec& spec);

// /proc/sys/<key with dots as slashes> (ns/userns_sysctl.cpp).
std::string sysctl_proc_path(std::string_view key);

}  // namespace podns::detail
