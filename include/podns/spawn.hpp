// Spawn a process inside a set of namespaces, each joined by path or created fresh, with id maps
// for a new user namespace: what `nsenter`, `unshare` and an OCI runtime's namespace setup do,
// from a library call. The returned ChildProcess owns the process (pidfd): wait, signal, and it is
// killed and reaped when the handle goes away unless detached.
//
// Everything happens in a single-threaded helper child (setns/unshare of a user or time namespace
// fail in a multi-threaded process), in this order:
//   1. join every namespace given by path except user; one the caller may not join yet is retried
//      in 3 (nsenter's and runc's two passes: a user namespace joined first would lose privileges
//      over host-owned namespaces, joined last it could not grant those it owns);
//   2. join the user namespace, or create it: the parent writes uid_map/gid_map (newuidmap and
//      newgidmap when unprivileged) while the child waits;
//   3. join the namespaces step 1 could not; become uid/gid 0 in the user namespace (when mapped);
//   4. create the remaining new namespaces (owned by the user namespace of step 2);
//   5. with a pid or time namespace, fork once more (CLONE_PARENT, so the caller reaps it): those
//      apply to children only, and the process really is inside them;
//   6. set up fds (every fd not passed is closed), cwd, exec. Any failure is reported to the parent
//      as an error naming the step.
// The common steps (signal dispositions and mask reset first, ids through raw syscalls, fds, cwd,
// exec) are the child-process builder's, src/sys/child.hpp.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "podns/error.hpp"
#include "podns/idmap.hpp"
#include "podns/namespace_type.hpp"
#include "podns/process.hpp"

namespace podns {

struct NamespaceRequest {
  NamespaceType type;
  std::string path;  // join the namespace at this path (a pin, /proc/PID/ns/TYPE); empty: create one
  friend bool operator==(const NamespaceRequest&, const NamespaceRequest&) = default;
};

// Descriptor `parent_fd` of the caller becomes `child_fd` in the new process.
struct FdMapping {
  int parent_fd;
  int child_fd;
};

struct SpawnRequest {
  // argv[0] without a '/' is looked up in the caller's PATH (in the new mount namespace, if any).
  std::vector<std::string> argv;
  // nullopt: inherit the caller's environment.
  std::optional<std::vector<std::string>> env;
  // Descriptors to pass. 0, 1 and 2 are inherited unless mapped; every other descriptor of the
  // caller is closed in the child (close_range), close-on-exec or not, and does not reach the
  // process. The process starts with no signal blocked and every disposition at its default.
  std::vector<FdMapping> fds;
  // At most one entry per type.
  std::vector<NamespaceRequest> namespaces;
  // Required when a user namespace is created; ignored otherwise.
  IdMappings idmaps;
  // chdir here after entering the namespaces (empty: stay; joining a mount namespace moves to its /).
  std::string cwd;
  // In a joined or new user namespace, become uid 0 and gid 0 (as nsenter does by default), so
  // the program keeps its capabilities across exec. Fails clearly when 0 is not mapped.
  bool become_root = true;
  // With a mount namespace created here: mount a fresh sysfs on /sys once every namespace is in
  // place, so /sys/class/net shows the joined netns's interfaces (as `ip netns exec` does); inside a
  // user namespace this works only when the netns is owned by it. A read-only /sys stays read-only.
  bool fresh_sysfs = false;
  // With fresh_sysfs, the rest of what `ip netns exec NAME` does: sysfs gets NAME as its source,
  // and every file in <etc_netns_dir>/NAME is bind-mounted over its namesake in /etc (resolv.conf,
  // hosts). A bind that fails is a warning on stderr, as iproute2 prints it. Empty: neither.
  std::string netns_name;
  std::string etc_netns_dir = "/etc/netns";
};

[[nodiscard]] Result<ChildProcess> spawn(const SpawnRequest& request);

// Warnings about a namespace set that a runtime would fail on (it does not print them):
// a namespace given by path that is not owned by the user namespace the set joins or creates
// ("runc: failed to setns into net namespace"; sysfs cannot be mounted). Empty when fine or when
// the set has no user namespace.
[[nodiscard]] std::vector<std::string> namespace_ownership_warnings(const std::vector<NamespaceRequest>& set);

}  // namespace podns
