// Shared by session.cpp (find, join, stop) and session_pause.cpp (starting the pause process).
#pragma once

#include <string>

#include "podns/error.hpp"
#include "podns/idmap.hpp"
#include "podns/rootless/session.hpp"

namespace podns::rootless::detail {

inline std::string pause_pid_file(const std::string& run_dir) { return run_dir + "/pause.pid"; }
inline std::string pause_lock_file(const std::string& run_dir) { return run_dir + "/pause.lock"; }
inline std::string session_lock_file(const std::string& run_dir) { return run_dir + "/session.lock"; }

// Start a detached pause process in a new user namespace mapped by `maps` and a new mount
// namespace inside it; returns its pid and start time (not yet recorded in the pid file). On any
// failure the half-made process is killed.
[[nodiscard]] Result<SessionInfo> start_pause_process(const IdMappings& maps, std::chrono::milliseconds timeout);

}  // namespace podns::rootless::detail
