#include "podns/paths.hpp"

#include <unistd.h>

#include <cstdlib>

namespace podns {
namespace {

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : std::move(fallback);
}

}  // namespace

bool running_as_root() { return geteuid() == 0; }

std::string Paths::ns_dir(std::string_view type_name) const {
  return run_dir + "/ns/" + std::string(type_name);
}

Paths Paths::under(std::string run_dir, std::string state_dir) {
  Paths p;
  p.netns_dir = run_dir + "/netns";
  p.cni_cache_dir = state_dir + "/cni";
  p.run_dir = std::move(run_dir);
  p.state_dir = std::move(state_dir);
  return p;
}

Paths Paths::from_environment() {
  Paths p;
  if (running_as_root()) {
    p = {"/run/podns", "/var/lib/podns", "/run/netns", "/var/lib/cni"};
  } else {
    std::string runtime = env_or("XDG_RUNTIME_DIR", "/tmp/podns-" + std::to_string(getuid()));
    std::string home = env_or("HOME", "/tmp");
    std::string data = env_or("XDG_DATA_HOME", home + "/.local/share");
    p = Paths::under(runtime + "/podns", data + "/podns");
  }
  const char* run = std::getenv("PODNS_RUN_DIR");
  const char* state = std::getenv("PODNS_STATE_DIR");
  if (run && *run) {
    p.run_dir = run;
    p.netns_dir = p.run_dir + "/netns";
  }
  if (state && *state) {
    p.state_dir = state;
    p.cni_cache_dir = p.state_dir + "/cni";
  }
  return p;
}

}  // namespace podns
