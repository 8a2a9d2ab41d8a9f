// The `podns session` verbs' group.
#pragma once

#include "cli.hpp"

namespace podns::cli {

inline CLI::App& session_group(CLI::App& app) {
  return group(app, "session", "The rootless session (the user namespace and mount namespace of a user's pods)");
}

}  // namespace podns::cli
