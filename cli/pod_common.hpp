// What the pod verbs share: the PodEnv from the global flags, and warnings on stderr.
#pragma once

#include <fmt/format.h>

#include <cstdio>

#include "cli.hpp"
#include "progress.hpp"
#include "podns/pod/pod.hpp"

namespace podns::cli {

inline CLI::App& pod_group(CLI::App& app) {
  return group(app, "pod", "Pod sandboxes: namespaces + networks in one call");
}

inline pod::PodEnv pod_env(const Globals& g) {
  pod::PodEnv env = pod::PodEnv::from_paths(g.paths());
  env.db_checkpoint_pages = state::kShortLivedCheckpointPages;  // one command per process
  env.on_warning = [](const Error& e) {
    progress::clear();
    fmt::print(stderr, "podns: warning: {}\n", e.message());
  };
  return env;
}

}  // namespace podns::cli
