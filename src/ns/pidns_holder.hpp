// A pid namespace cannot be pinned empty: /proc/*/ns/pid_for_children reads ENOENT until the new
// namespace has an init (child_reaper), and once its init exits nothing can ever join it again. So a
// pid namespace podns creates gets a tiny init of its own, the holder: a process that only sleeps,
// named "podns-pidns", not our child (an intermediate process forks it and exits, so no caller
// ends up with a zombie), killed again when the pin is removed.
#pragma once

#include "podns/error.hpp"
#include "podns/fd.hpp"
#include "podns/namespace.hpp"

namespace podns::detail {

inline constexpr const char* kPidnsHolderComm = "podns-pidns";

struct PidnsHolder {
  pid_t pid = -1;  // in our pid namespace
  UniqueFd pidfd;  // verified to be the holder (it was alive when taken)
};

// Start the init of a new pid namespace. The namespace is /proc/<pid>/ns/pid.
[[nodiscard]] Result<PidnsHolder> start_pidns_holder();

// SIGKILL the podns holder of pid namespace `ns`, if it has one (attached namespaces of real
// containers have their own init, which is left alone). Kills the namespace's other processes too,
// as the kernel does when init dies.
[[nodiscard]] Status stop_pidns_holder(const Namespace& ns);

}  // namespace podns::detail
