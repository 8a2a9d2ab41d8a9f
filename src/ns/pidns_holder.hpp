// A pid namespace cannot be pinned empty: /proc/*/ns/pid_for_children reads ENOENT until the new
// namespace has an init (child_reaper), and once its init exits nothing can ever join it again. So a
// pid namespace podns creates gets a tiny init of its own, the holder: a process that only sleeps,
// named "podns-pidns", not our child (an intermediate process forks it and exits, so no caller
// ends up with a zombie), killed again when the pin is removed.
#pragma once

#include "podns/error.hpp"
#include "podns/fd.hpp"
#include "podns/namespace.hpp"
#include "sys/child.hpp"

namespace podns::detail {

inline constexpr const char* kPidnsHolderComm = "podns-pidns";

struct PidnsHolder {
  pid_t pid = -1;  // in our pid namespace
  UniqueFd pidfd;  // verified to be the holder (it was alive when taken)
};

// The holder's plan (sys/child.hpp): /dev/null (`null_fd`, open in the parent) on 0, 1 and 2,
// `alive_fd` as fd 3 when >= 0, a session of its own, nothing else open.
sys::ChildSpec holder_spec(int null_fd, int alive_fd);

// Child side of a holder: run its plan, take the holder's name, write one byte to fd 3 (when the
// plan passes one: a holder found by name is ready) and sleep until SIGKILL. Async-signal-safe.
[[noreturn]] void holder_main(const sys::ChildPlan& plan) noexcept;

// Start the init of a new pid namespace. The namespace is /proc/<pid>/ns/pid.
[[nodiscard]] Result<PidnsHolder> start_pidns_holder();

// SIGKILL the podns holder of pid namespace `ns`, if it has one (attached namespaces of real
// containers have their own init, which is left alone). Kills the namespace's other processes too,
// as the kernel does when init dies.
[[nodiscard]] Status stop_pidns_holder(const Namespace& ns);

}  // namespace podns::detail
