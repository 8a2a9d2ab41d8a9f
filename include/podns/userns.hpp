// User-namespace-owned namespace sets (containerd PR #10607, for any set of types): create a user
// namespace with id maps and the other namespaces inside it, so they are *owned* by it, and pin
// them all, the user namespace too. A runtime that gets both paths can join the netns from inside
// the user namespace and mount sysfs there; one made outside fails with EPERM.
//
// The work happens in a single-threaded helper child (clone3 + CLONE_PIDFD, fork semantics
// otherwise): it unshares the user namespace; the parent writes setgroups/uid_map/gid_map (itself
// as root, via newuidmap/newgidmap otherwise); the child becomes root in it, unshares the other
// types, writes the sysctls inside them and waits; the parent opens /proc/PID/ns/*, checks through
// the pidfd that the helper is still the live process it started, bind-mounts the pins, checks
// again, then kills and reaps the helper. No helper survives and, on failure, nothing stays pinned.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "podns/error.hpp"
#include "podns/idmap.hpp"
#include "podns/namespace.hpp"
#include "podns/paths.hpp"
#include "podns/pin.hpp"

namespace podns {

// A sysctl written inside the new namespaces at creation: "net.ipv4.ip_forward=1".
struct Sysctl {
  std::string key;    // dotted (net.ipv4.ip_forward) or slashed (net/ipv4/ip_forward)
  std::string value;
  friend bool operator==(const Sysctl&, const Sysctl&) = default;
};
[[nodiscard]] Result<Sysctl> parse_sysctl(std::string_view key_equals_value);
// The namespace type a sysctl belongs to (net.* -> net; kernel.hostname, kernel.domainname -> uts;
// kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.* -> ipc), or Errc::invalid_argument for a key
// that is not namespaced (writing it would change the host) or that is malformed.
[[nodiscard]] Result<NamespaceType> sysctl_namespace(std::string_view key);
// Write sysctls inside already pinned namespaces (for sets without a user namespace; a userns set
// writes them at creation). Each sysctl's namespace type must be among `pins`.
[[nodiscard]] Status write_sysctls(const std::vector<PinnedNamespace>& pins, const std::vector<Sysctl>& sysctls);

struct UsernsSetRequest {
  Paths paths;
  std::string name;                   // the pin name for every type (validated)
  // Must contain user; any of net, ipc, uts, mnt, cgroup, time, pid. A pid namespace gets a
  // sleeping init of its own (comm "podns-pidns", the one process that outlives the call): the
  // kernel opens pid_for_children only once there is an init and admits no process after it exits.
  // Its pid and start time are recorded; removing the pid pin (remove_pinned) stops that process.
  std::vector<NamespaceType> types;
  IdMappings idmaps;                  // required
  std::vector<Sysctl> sysctls;        // each needs its namespace type in `types`
};

struct PinnedSet {
  std::string name;
  std::vector<PinnedNamespace> pins;  // user first, then the table order
  // The pin of `type`, or nullptr.
  const PinnedNamespace* find(NamespaceType type) const;
};

[[nodiscard]] Result<PinnedSet> create_userns_set(const UsernsSetRequest& request);

// The pins named `name` (any types), user first, as a PinnedSet. Errc::not_found when none.
[[nodiscard]] Result<PinnedSet> find_pinned_set(const Paths& paths, std::string_view name);

// Read back the uid/gid maps and setgroups of a user namespace (through a short-lived helper that
// joins it and reads /proc/self/{uid_map,gid_map,setgroups}, which then show the maps relative to
// the parent namespace). Host ids are those of the caller's user namespace when it is the parent.
[[nodiscard]] Result<IdMappings> read_userns_idmappings(const Namespace& userns);

// The id maps of every live user namespace pinned below `paths`, except those pinned at a path in
// `known` (the caller has their maps already). One of the two sources of the `auto` allocator,
// pod::reserve_auto_idmappings, which reads them under its lock; alone, without that lock, the
// answer is stale as soon as another process pins a user namespace.
[[nodiscard]] Result<std::vector<IdMappings>> pinned_userns_idmappings(const Paths& paths,
                                                                      std::span<const std::string> known = {});

// The user namespace owning the namespace at `path` (NS_GET_USERNS), and pinning it as the user
// pin `name`: what #10607 does for runtimes that receive only the netns path.
[[nodiscard]] Result<Namespace> owning_userns(const std::string& path);
[[nodiscard]] Result<PinnedNamespace> pin_owning_userns(const Paths& paths, const std::string& path,
                                                        std::string_view name);

}  // namespace podns
