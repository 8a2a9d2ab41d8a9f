// Per-pod and global locks: flock(2) on files under Paths::locks_dir().
//
// Every mutating pod operation holds the global lock shared and its pod's lock exclusive, so two
// operations on one pod serialize while operations on distinct pods run in parallel; gc takes the
// global lock exclusive and so excludes them all (CNI SPEC: GC must not run concurrently with ADD
// or DEL). flock locks die with the process, which is how recovery tells a crashed operation (lock
// free, phase still "creating") from one in progress (lock held).
#pragma once

#include <chrono>
#include <string>

#include "podns/error.hpp"
#include "podns/file_lock.hpp"

namespace podns::state {

// The state's locks are the one file lock of podns (podns/file_lock.hpp).
using FileLock = podns::FileLock;

// <locks_dir>/pod-<name>.lock, exclusive.
[[nodiscard]] Result<FileLock> lock_pod(const std::string& locks_dir, const std::string& pod,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(60));
// <locks_dir>/global.lock: shared for pod operations, exclusive for gc.
[[nodiscard]] Result<FileLock> lock_global(const std::string& locks_dir, FileLock::Mode mode,
                                           std::chrono::milliseconds timeout = std::chrono::seconds(60));
// True when someone holds the pod's lock right now (a live operation on it).
[[nodiscard]] bool pod_locked(const std::string& locks_dir, const std::string& pod);

}  // namespace podns::state
