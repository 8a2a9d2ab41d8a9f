// A pid namespace cannot be pinned empty: /proc/*/ns/pid_for_children reads ENOENT until the new
// namespace has an init (child_reaper), and once its init exits nothing can ever join it again. So a
// pid namespace podns creates gets a tiny init of its own, the holder: a process that only sleeps
// in "/" (no caller's working directory kept busy), named "podns-pidns" (for people and the leak
// check, never to find it), not our child (an intermediate process forks it and exits, so no
// caller ends up with a zombie). Its pid and start time are recorded beside the pins, and removing
// the pin kills the process that record names, only that one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "podns/error.hpp"
#include "podns/fd.hpp"
#include "podns/namespace.hpp"
#include "podns/paths.hpp"
#include "sys/child.hpp"

namespace podns::detail {

inline constexpr const char* kPidnsHolderComm = "podns-pidns";

struct PidnsHolder {
  pid_t pid = -1;           // in our pid namespace
  uint64_t start_time = 0;  // /proc/PID/stat field 22: with the pid, this process and no later one
  UniqueFd pidfd;           // verified to be the holder (it was alive when taken)
};

// The holder's plan (sys/child.hpp): /dev/null (`null_fd`, open in the parent) on 0, 1 and 2,
// `alive_fd` as fd 3 when >= 0, a session of its own, nothing else open.
sys::ChildSpec holder_spec(int null_fd, int alive_fd);

// Child side of a holder: run its plan (which includes chdir "/"), take the holder's name, write
// one byte to fd 3 (when the plan passes one: the creator learns it is running) and sleep until
// SIGKILL. Async-signal-safe.
[[noreturn]] void holder_main(const sys::ChildPlan& plan) noexcept;

// Start the init of a new pid namespace. The namespace is /proc/<pid>/ns/pid.
[[nodiscard]] Result<PidnsHolder> start_pidns_holder();

// Where the holder of the pid pin `name` is recorded: <run_dir>/ns/pid-holders/<name>, one line
// "PID STARTTIME". Written after the pin (the pin's O_EXCL create is what makes the name ours).
std::string holder_record_path(const Paths& paths, std::string_view name);
[[nodiscard]] Status record_pidns_holder(const Paths& paths, std::string_view name, pid_t pid,
                                         uint64_t start_time);

// SIGKILL the holder recorded for the pid pin `name`, if the record still names a live process
// (the same pid with the same start time), and drop the record. No record: nothing to stop (an
// attached pid namespace has an init of its own, which is left alone). Kills the namespace's
// other processes too, as the kernel does when init dies. A record that cannot be read or
// checked is kept and reported.
[[nodiscard]] Status stop_pidns_holder(const Paths& paths, std::string_view name);

}  // namespace podns::detail
