// Locks, store, runtime, network resolution and the environment: what every pod operation shares.
#include <cstdlib>
#include <map>
#include <mutex>
#include <ctime>

#include <fmt/format.h>

#include "pod/internal.hpp"
#include "podns/cni/invoke.hpp"

namespace podns::pod {

std::string container_id(std::string_view pod) { return fmt::format("podns-{}", pod); }

PodEnv PodEnv::from_paths(Paths paths) {
  PodEnv env;
  env.paths = std::move(paths);
  env.podns_conf_dir = env.paths.state_dir + "/net.d";
  env.cni_conf_dir = cni::conf_dir_from_environment();
  env.plugin_dirs = cni::plugin_dirs_from_environment();
  env.default_network.data_dir = env.paths.state_dir + "/networks";
  if (const char* b = std::getenv("PODNS_DEFAULT_BRIDGE"); b && *b) env.default_network.bridge = b;
  if (const char* s = std::getenv("PODNS_DEFAULT_SUBNET"); s && *s) env.default_network.subnet = s;
  if (const char* t = std::getenv("PODNS_NFT_TABLE"); t && *t) env.nft_table = t;
  return env;
}

namespace detail {

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

Result<state::Store> open_store(const PodEnv& env) {
  return state::Store::open(env.paths.db_path(), env.db_busy_timeout, env.db_checkpoint_pages);
}

cni::Runtime make_runtime(const PodEnv& env) {
  cni::RuntimeOptions o;
  o.plugin_dirs = env.plugin_dirs;
  o.cache_dir = env.paths.cni_cache_dir;
  o.deadline = env.plugin_deadline;
  o.on_warning = env.on_warning;
  return cni::Runtime(std::move(o));
}

Result<ResolvedNetwork> resolve_network(const PodEnv& env, state::Store& store, const std::string& name) {
  ResolvedNetwork out{name, {}, {}};
  auto rec = store.get_network(name);
  if (rec) {
    auto n = network::Network::from_record(*rec);
    if (!n) return fail(n.error());
    out.native = std::move(*n);
    return out;
  }
  if (!rec.error().is(Errc::not_found)) return fail_with(rec, fmt::format("network {}", name));
  if (name == env.default_network.name) {
    auto n = native_default_network(env, store);
    if (!n) return fail(n.error());
    out.native = std::move(*n);
    return out;
  }
  auto net = cni::load_network(env.cni_conf_dir, name);
  if (!net) {
    if (net.error().is(Errc::not_found))
      return fail(Errc::not_found,
                  fmt::format("network {}: no podns network and no CNI network of that name (in {})", name,
                              env.cni_conf_dir));
    return fail_with(net, fmt::format("network {}", name));
  }
  for (const auto& plugin : net->plugins) {
    if (auto p = cni::find_plugin(plugin.type, env.plugin_dirs); !p)
      return fail_with(p, fmt::format("network {}: plugin {}", name, plugin.type));
  }
  out.cni = std::move(*net);
  return out;
}

Result<network::Network> native_default_network(const PodEnv& env, state::Store& store) {
  const auto doing = fmt::format("default network {}", env.default_network.name);
  network::NetworkOptions o;
  o.name = env.default_network.name;
  o.bridge = env.default_network.bridge;
  o.subnets = {{env.default_network.subnet, "", ""}};
  auto existing = store.list_networks();
  if (!existing) return fail_with(existing, doing);
  std::vector<network::Network> nets;
  for (const auto& r : *existing) {
    auto n = network::Network::from_record(r);
    if (!n) return fail(n.error());
    // A concurrent first use made it after the caller looked.
    if (n->name == o.name) return std::move(*n);
    nets.push_back(std::move(*n));
  }
  // The bridge may exist: podns made it, for this network's CNI predecessor or before a crash.
  auto made = network::make_network(o, nets, {});
  if (!made) return fail_with(made, doing);
  made->created_at = static_cast<int64_t>(::time(nullptr));
  auto inserted = store.transaction([&]() -> Status {
    if (auto s = store.insert_network(made->record()); !s) return s;
    // Pods the CNI default network attached keep their addresses: leases of the native network.
    auto pods = store.load_all();
    if (!pods) return fail(pods.error());
    for (const auto& p : *pods) {
      for (const auto& a : p.attachments) {
        if (a.network != o.name || a.driver != state::AttachmentDriver::cni) continue;
        for (const auto& addr : a.summary.addresses) {
          auto ip = network::IpAddr::parse(addr.address.substr(0, addr.address.find('/')));
          if (!ip) continue;
          if (auto s = store.insert_lease({o.name, ip->str(), a.pod, a.index}); !s && !s.error().is(Errc::already_exists))
            return s;
        }
      }
    }
    return {};
  });
  if (!inserted) {
    // A concurrent first use made it.
    if (inserted.error().is(Errc::already_exists)) {
      auto rec = store.get_network(o.name);
      if (!rec) return fail_with(rec, doing);
      return network::Network::from_record(*rec);
    }
    return fail_with(inserted, doing);
  }
  LazyHostPlane host(env);
  auto plane = host.get();
  if (!plane) return fail_with(plane, doing);
  if (auto s = (*plane)->sync(store); !s) return fail_with(s, doing);
  return std::move(*made);
}

namespace {

// The host planes this process opened, one per locks dir and table; kept until exit.
struct OpenPlanes {
  std::mutex mu;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<network::HostPlane>> planes;
};
OpenPlanes& open_planes() {
  static OpenPlanes all;
  return all;
}

}  // namespace

Result<network::HostPlane*> LazyHostPlane::get() {
  if (plane_) return plane_;
  auto& [mu, planes] = open_planes();
  std::lock_guard lock(mu);
  auto& slot = planes[{env_.paths.locks_dir(), env_.nft_table}];
  if (!slot) {
    auto p = network::HostPlane::open(env_.paths.locks_dir(), env_.nft_table);
    if (!p) return fail_with(p, "open the host's network plane");
    slot = std::move(*p);
  }
  plane_ = slot.get();
  return plane_;
}

void reconcile_boot(const PodEnv& env, state::Store& store, std::vector<std::string>* cleaned,
                    std::vector<Error>* errors) {
  auto report = [&](Error e) {
    if (errors) errors->push_back(std::move(e));
    else env.warn(e);
  };
  auto boot = network::read_boot_id(env.boot_id_path);
  if (!boot) return report(boot.error());
  if (auto known = store.meta("boot_id"); known && *known && **known == *boot) return;  // the usual case
  // Compare and set in one transaction, taking the list of the old boot's pods with it: of two
  // first commands of a boot only one gets them, and no pod of the new boot can be among them
  // (every mutating command reconciles before it records a pod).
  std::vector<state::PodState> old_pods;
  auto swapped = store.transaction([&]() -> Status {
    auto known = store.meta("boot_id");
    if (!known) return fail(known.error());
    if (*known && **known == *boot) return {};
    if (*known) {
      auto pods = store.load_all();
      if (!pods) return fail(pods.error());
      old_pods = std::move(*pods);
      // A netns of this boot may have the inode one of the old boot had: never hand it to a DEL.
      if (auto s = store.forget_pending_del_netns(); !s) return s;
    }
    return store.set_meta("boot_id", *boot);
  });
  if (!swapped) return report(swapped.error());
  // A new boot: every pin, veth and nft element of the old one is gone, and so is every pod.
  for (const auto& st : old_pods) {
    auto lock = state::lock_pod(env.paths.locks_dir(), st.pod.name, std::chrono::milliseconds(0));
    if (!lock) continue;  // a command of this boot removes it right now
    auto now = store.load(st.pod.name);
    if (!now) {
      // Removed meanwhile, its lock file with it: ours recreated the file, which must go again.
      if (now.error().is(Errc::not_found)) lock->unlink_and_release();
      continue;
    }
    if (auto s = teardown(env, store, *now, /*force=*/true); !s) {
      report(Error(s.error()).context(fmt::format("pod {}: release after reboot", st.pod.name)));
      continue;
    }
    lock->unlink_and_release();
    if (cleaned) cleaned->push_back(fmt::format("pod {}: gone with the previous boot, released", st.pod.name));
  }
}

}  // namespace detail

void hand_off_slow_closes() {
  auto& [mu, planes] = detail::open_planes();
  std::lock_guard lock(mu);
  for (auto& [key, plane] : planes) plane->hand_off_slow_close();
}

}  // namespace podns::pod
