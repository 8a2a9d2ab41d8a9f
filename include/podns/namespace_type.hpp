// The eight Linux namespace types in one table: podns name, /proc/PID/ns entry, the entry a pin is
// made from, CLONE_NEW* flag and OCI runtime-spec name. Everything that maps between these goes
// through this table (no switches elsewhere).
#pragma once

#include <span>
#include <string_view>

#include "podns/error.hpp"

namespace podns {

enum class NamespaceType { net, ipc, uts, mnt, pid, user, cgroup, time };

struct NamespaceInfo {
  NamespaceType type;
  std::string_view name;        // "net": podns's name, also the /proc/PID/ns entry name
  std::string_view proc_entry;  // "net": /proc/PID/ns/<proc_entry>, the namespace PID is in
  // The entry a newly created namespace is pinned from. pid and time namespaces made by unshare()
  // apply to the caller's children only, so they are reachable as pid_for_children /
  // time_for_children; every other type is proc_entry.
  std::string_view pin_entry;
  int clone_flag;               // CLONE_NEWNET, ...; also what NS_GET_NSTYPE returns
  std::string_view oci_name;    // "network", "mount", ...: linux.namespaces[].type in the OCI spec
};

// The table entry for `type`.
const NamespaceInfo& namespace_info(NamespaceType type) noexcept;
inline std::string_view to_string(NamespaceType type) noexcept { return namespace_info(type).name; }

// All eight, in the fixed join order: user first (joining it grants the rights to join the rest),
// then pid, uts, ipc, net, cgroup, mnt (last: it changes root and cwd), time.
std::span<const NamespaceInfo> all_namespaces() noexcept;

// Accepts podns names ("net", "mnt") and OCI names ("network", "mount").
[[nodiscard]] Result<NamespaceType> parse_namespace_type(std::string_view name);

// The type whose CLONE_NEW* flag is `clone_flag` (as NS_GET_NSTYPE reports it).
[[nodiscard]] Result<NamespaceType> namespace_type_from_clone_flag(int clone_flag);

}  // namespace podns
