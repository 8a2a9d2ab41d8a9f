// Locks, store, runtime, network resolution and the environment: what every pod operation shares.
#include <signal.h>

#include <cstdlib>

#include <fmt/format.h>

#include "pod/internal.hpp"
#include "podns/cni/invoke.hpp"

namespace podns::pod {

std::string container_id(std::string_view pod) { return fmt::format("podns-{}", pod); }

PodEnv PodEnv::from_paths(Paths paths) {
  PodEnv env;
  env.paths = std::move(paths);
  env.podns_conf_dir = env.paths.state_dir + "/net.d";
  const char* netconf = std::getenv("NETCONFPATH");
  env.cni_conf_dir = netconf && *netconf ? netconf : std::string(cni::kDefaultConfDir);
  const char* cni_path = std::getenv("CNI_PATH");
  env.plugin_dirs = cni_path && *cni_path ? cni::split_path_list(cni_path) : cni::default_plugin_dirs();
  env.default_network.data_dir = env.paths.state_dir + "/networks";
  if (const char* b = std::getenv("PODNS_DEFAULT_BRIDGE"); b && *b) env.default_network.bridge = b;
  if (const char* s = std::getenv("PODNS_DEFAULT_SUBNET"); s && *s) env.default_network.subnet = s;
  return env;
}

namespace detail {

void kill_point(std::string_view name) {
  static const char* wanted = std::getenv("PODNS_TEST_KILL_POINT");
  if (wanted && name == wanted) ::raise(SIGKILL);
}

Result<OpLocks> lock_for_operation(const PodEnv& env, const std::string& pod) {
  OpLocks locks;
  auto g = state::lock_global(env.paths.locks_dir(), state::FileLock::Mode::shared, env.lock_timeout);
  if (!g) return fail_with(g, "wait for podns gc");
  locks.global = std::move(*g);
  auto p = state::lock_pod(env.paths.locks_dir(), pod, env.lock_timeout);
  if (!p) return fail_with(p, fmt::format("wait for another operation on pod {}", pod));
  locks.pod = std::move(*p);
  return locks;
}

Result<state::Store> open_store(const PodEnv& env) { return state::Store::open(env.paths.db_path(), env.db_busy_timeout); }

cni::Runtime make_runtime(const PodEnv& env) {
  cni::RuntimeOptions o;
  o.plugin_dirs = env.plugin_dirs;
  o.cache_dir = env.paths.cni_cache_dir;
  o.deadline = env.plugin_deadline;
  o.on_warning = env.on_warning;
  return cni::Runtime(std::move(o));
}

Result<cni::NetworkConfigList> resolve_network(const PodEnv& env, const std::string& name) {
  Result<cni::NetworkConfigList> net;
  if (name == env.default_network.name) {
    auto path = ensure_default_network(env.podns_conf_dir, env.default_network);
    if (!path) return fail(path.error());
    net = cni::load_network(env.podns_conf_dir, name);
  } else {
    net = cni::load_network(env.cni_conf_dir, name);
  }
  if (!net) {
    if (net.error().is(Errc::not_found))
      return fail(Errc::not_found, fmt::format("network {} (looked in {})", name,
                                               name == env.default_network.name ? env.podns_conf_dir
                                                                                : env.cni_conf_dir));
    return fail_with(net, fmt::format("network {}", name));
  }
  for (const auto& plugin : net->plugins) {
    if (auto p = cni::find_plugin(plugin.type, env.plugin_dirs); !p)
      return fail_with(p, fmt::format("network {}: plugin {}", name, plugin.type));
  }
  return net;
}

}  // namespace detail
}  // namespace podns::pod
