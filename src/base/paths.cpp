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

void Paths::move_run_dir(std::string dir) {
  if (dir.empty()) return;
  netns_dir = dir + "/netns";
  run_dir = std::move(dir);
}

void Paths::move_state_dir(std::string dir) {
  if (dir.empty()) return;
  cni_cache_dir = dir + "/cni";
  state_dir = std::move(dir);
}

Paths Paths::under(std::string run_dir, std::string state_dir) {
  Paths p;
  p.move_run_dir(std::move(run_dir));
  p.move_state_dir(std::move(state_dir));
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
  p.move_run_dir(env_or("PODNS_RUN_DIR", ""));
  p.move_state_dir(env_or("PODNS_STATE_DIR", ""));
  return p;
}

}  // namespace podns
