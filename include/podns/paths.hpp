// Where podns keeps things on disk. Root: netns pins in /run/netns (so `ip netns` sees them), other
// pins in /run/podns/ns/<type>/, state in /var/lib/podns, locks in /run/podns/locks, CNI cache in
// /var/lib/cni (libcni's default, so cnitool and podns see each other's entries). Rootless:
// $XDG_RUNTIME_DIR/podns and $XDG_DATA_HOME/podns. PODNS_RUN_DIR and PODNS_STATE_DIR (and the
// CLI's --run-dir / --state-dir) move everything, which is how tests stay out of the host's dirs.
#pragma once

#include <string>
#include <string_view>

namespace podns {

struct Paths {
  std::string run_dir;        // /run/podns
  std::string state_dir;      // /var/lib/podns
  std::string netns_dir;      // /run/netns, or <run_dir>/netns when run_dir was moved
  std::string cni_cache_dir;  // /var/lib/cni, or <state_dir>/cni when state_dir was moved

  // Pins of namespace type `type_name` other than net: <run_dir>/ns/<type_name>.
  std::string ns_dir(std::string_view type_name) const;
  std::string locks_dir() const { return run_dir + "/locks"; }
  std::string db_path() const { return state_dir + "/podns.db"; }

  // Move the run dir, and the netns pins with it (<dir>/netns), or the state dir, and the CNI
  // cache with it (<dir>/cni). An empty dir moves nothing. PODNS_RUN_DIR / PODNS_STATE_DIR, the
  // CLI's flags and the CNI plugin's config keys all move them this way.
  void move_run_dir(std::string dir);
  void move_state_dir(std::string dir);

  // Defaults for the effective user, then PODNS_RUN_DIR / PODNS_STATE_DIR from the environment.
  static Paths from_environment();
  // Everything below one run dir and one state dir (explicit --run-dir/--state-dir, tests).
  static Paths under(std::string run_dir, std::string state_dir);
};

bool running_as_root();

}  // namespace podns
