// Run a command inside pinned namespaces, the way `ip netns exec NAME CMD` does, and return its
// exit status. One engine for every set, spawn() (podns/spawn.hpp): a single-threaded helper joins
// the namespaces (a user namespace so that it keeps its privileges over the others, then uid/gid 0
// inside it), with a pid namespace forks once more so the command really is inside it; for a
// network namespace without a mount namespace in the set it takes a new mount namespace (a slave
// of ours), mounts that netns's sysfs on /sys and bind-mounts /etc/netns/NAME/* over /etc/*,
// exactly as iproute2 does. The caller is never moved. The command gets only fds 0-2 and default
// signals (the child-process builder, src/sys/child.hpp).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "podns/error.hpp"
#include "podns/namespace.hpp"
#include "podns/paths.hpp"
#include "podns/spawn.hpp"

namespace podns {

struct NsExecRequest {
  std::vector<std::string> argv;  // argv[0] looked up in PATH (as seen inside)
  // Namespaces to join; at most one per type.
  std::vector<Namespace> namespaces;
  // For a netns: the name whose /etc/netns/<name>/* is bound over /etc (empty: none).
  std::string netns_name;
  std::string etc_netns_dir = "/etc/netns";  // tests point this elsewhere
};

// The engine of everything here and of `pod exec`: run `argv` in `set` (spawn() orders the joins).
// A set with a netns but no mount namespace gets a new mount namespace with that netns's sysfs on
// /sys and <etc_netns_dir>/<netns_name>/* over /etc/*, as iproute2 does; a set that has its own
// mount namespace keeps that namespace's /sys and /etc.
[[nodiscard]] Result<int> exec_in_set(std::vector<NamespaceRequest> set, const std::vector<std::string>& argv,
                                      const std::string& netns_name,
                                      const std::string& etc_netns_dir = "/etc/netns");

// The command's exit code, or 128+N when it was killed by signal N. Failing to enter a namespace or
// to exec gives an error naming the step ("exec nosuchcmd: No such file or directory").
[[nodiscard]] Result<int> exec_in_namespaces(const NsExecRequest& request);

// Every live pin named `name` (any type), as exec_in_namespaces with `name` as the netns name.
// Warnings about a set a runtime would fail on (namespace_ownership_warnings) go to `warn` before
// it starts.
[[nodiscard]] Result<int> exec_in_pins(const Paths& paths, std::string_view name, const std::vector<std::string>& argv,
                                       const std::function<void(const std::string&)>& warn = {});

}  // namespace podns
