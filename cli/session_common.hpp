// Shared bits of the `podns session` verbs: the group and the session's options.
#pragma once

#include "cli.hpp"

namespace podns::cli {

inline CLI::App& session_group(CLI::App& app) {
  return group(app, "session", "The rootless session (the user namespace and mount namespace of a user's pods)");
}

inline rootless::SessionOptions session_options(const Globals& g) {
  rootless::SessionOptions o;
  o.run_dir = g.paths().run_dir;
  return o;
}

}  // namespace podns::cli
