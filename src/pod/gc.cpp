// podns gc: with every other podns operation excluded, reconcile state and host.
#include <dirent.h>
#include <unistd.h>

#include <set>
#include <string_view>

#include <fmt/format.h>

#include "pod/internal.hpp"
#include "cni/bridge_ipmasq.hpp"
#include "podns/names.hpp"
#include "podns/json_parse.hpp"
#include "podns/read_file.hpp"
#include "podns/cni/cache.hpp"
#include "podns/pin.hpp"
#include "podns/rootless/driver.hpp"

namespace podns::pod {
namespace {

constexpr std::string_view kIdPrefix = "podns-";

std::vector<std::string> dir_names(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (auto* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  ::closedir(d);
  return out;
}

struct Gc {
  const PodEnv& env;
  state::Store& store;
  GcReport& report;
  std::vector<state::PodState> pods;
  std::set<std::string> pod_names;
  std::set<std::tuple<std::string, std::string, std::string>> attachments;  // network, container id, ifname
  std::set<std::pair<std::string, std::string>> lease_owners;                // network, container id
  std::set<std::tuple<std::string, std::string, std::string>> owed;          // pending DELs still failing

  Status reload() {
    auto all = store.load_all();
    if (!all) return fail(all.error());
    pods = std::move(*all);
    pod_names.clear();
    attachments.clear();
    lease_owners.clear();
    for (const auto& p : pods) {
      pod_names.insert(p.pod.name);
      for (const auto& a : p.attachments) {
        attachments.insert({a.network, a.container_id, a.ifname});
        lease_owners.insert({a.network, a.container_id});
      }
    }
    return {};
  }

  // Ready pods whose namespace pins vanished (`ip netns del` behind our back, a reboot): the pod
  // cannot work any more; DEL its networks (the plugins tolerate the missing netns) and drop it.
  void state_without_pins() {
    for (const auto& p : pods) {
      if (p.pod.phase != state::PodPhase::ready) continue;
      if (p.pod.kind == state::PodKind::cni) {
        runtime_netns_gone(p);
        continue;
      }
      std::string gone;
      for (const auto& pin : p.pins) {
        auto live = pin_is_live(pin.path);
        if (live && !*live) gone = pin.path;
      }
      if (gone.empty()) continue;
      if (auto s = detail::teardown(env, store, p, /*force=*/true); !s) {
        report.errors.push_back(Error(s.error()).context(fmt::format("pod {}", p.pod.name)));
        continue;
      }
      report.cleaned.push_back(fmt::format("pod {}: pin {} was gone; networks deleted, state dropped", p.pod.name, gone));
    }
  }

  // An attachment podns-bridge made for a runtime that never called DEL: its netns (the runtime's,
  // not pinned by podns) is gone, so nothing can use it any more. Its lock file goes with it (the
  // lock-file sweep below only knows podns pod names).
  void runtime_netns_gone(const state::PodState& p) {
    auto live = pin_is_live(p.pod.netns_path);
    if (!live || *live) return;
    if (auto s = detail::teardown(env, store, p, /*force=*/true); !s) {
      report.errors.push_back(Error(s.error()).context(fmt::format("CNI attachment {}", p.pod.name)));
      return;
    }
    if (auto lock = state::lock_pod(env.paths.locks_dir(), p.pod.name, std::chrono::milliseconds(0)))
      lock->unlink_and_release();
    report.cleaned.push_back(fmt::format("CNI attachment {}: netns {} was gone and no DEL came; released",
                                         p.pod.name, p.pod.netns_path));
  }

  // A pod lock file exists from the first step of `pod create` until the pod is removed: one
  // without state names a pod whose state was lost, and pins of that name are its leftovers.
  // Pins of other names (ip netns add, podns ns add) are never touched.
  void pins_without_state() {
    const std::string dir = env.paths.locks_dir();
    for (const auto& f : dir_names(dir)) {
      if (f.rfind("pod-", 0) != 0 || f.size() <= 9 || f.substr(f.size() - 5) != ".lock") continue;
      std::string name = f.substr(4, f.size() - 9);
      if (pod_names.count(name) || !validate_name(name)) continue;
      auto pins = find_pins(env.paths, name);
      // The lock file is how the next gc finds these pins again: it goes only once every pin did.
      bool all_removed = static_cast<bool>(pins);
      if (!pins) report.errors.push_back(Error(pins.error()).context(fmt::format("pins of {}", name)));
      if (pins) {
        // user last: it owns the others.
        std::stable_sort(pins->begin(), pins->end(), [](const auto& a, const auto& b) {
          return (a.type == NamespaceType::user) < (b.type == NamespaceType::user);
        });
        for (const auto& pin : *pins) {
          if (auto s = remove_pin(pin.path, pin_dir(env.paths, pin.type)); !s) {
            report.errors.push_back(Error(s.error()).context(fmt::format("unpin {}", pin.path)));
            all_removed = false;
            continue;
          }
          report.cleaned.push_back(fmt::format("pin {} without a pod: removed", pin.path));
        }
      }
      if (all_removed && ::unlink((dir + "/" + f).c_str()) < 0 && errno != ENOENT)
        report.errors.push_back(Error::from_errno(fmt::format("remove {}/{}", dir, f)));
    }
  }

  // Every CNI DEL still owed (pod/pending_dels.cpp); what still fails is left to the next try.
  void pending_dels() {
    detail::retry_all_pending_dels(env, store, report);
    auto left = store.pending_dels();
    if (!left) return;  // reported by the retry already
    for (const auto& p : *left) owed.insert({p.network, p.container_id, p.ifname});
  }

  // CNI cache entries of podns container ids that no attachment in the state names: DEL them.
  // An entry a pending DEL names is its business: not DELed twice.
  void cache_without_pod() {
    cni::ResultCache cache(env.paths.cni_cache_dir);
    auto entries = cache.list("");
    if (!entries) return;  // no cache dir yet
    cni::Runtime runtime = detail::make_runtime(env);
    for (const auto& e : *entries) {
      if (e.container_id.rfind(kIdPrefix, 0) != 0) continue;  // another runtime's
      if (attachments.count({e.network_name, e.container_id, e.ifname})) continue;
      if (owed.count({e.network_name, e.container_id, e.ifname})) continue;
      auto what = fmt::format("CNI attachment {}/{}/{}", e.network_name, e.container_id, e.ifname);
      auto net = cni::parse_network_list(e.config);
      if (!net) {
        report.errors.push_back(Error(net.error()).context(what));
        continue;
      }
      cni::RuntimeConf rt{e.container_id, e.netns, e.ifname, e.cni_args, e.capability_args};
      if (auto s = runtime.del(*net, rt); !s) {
        report.errors.push_back(Error(s.error()).context("DEL " + what));
        continue;
      }
      // Deliberately ignored: the DEL succeeded; an entry left behind only gets another
      // (idempotent) DEL from the next gc.
      (void)cache.remove(e.network_name, e.container_id, e.ifname);
      auto live = pin_is_live(e.netns);
      if (live && !*live) {
        for (const auto& p : net->plugins) {
          if (p.type == "bridge" && p.raw.is_object() && p.raw.value("ipMasq", false)) {
            if (auto m = cni::remove_leaked_ipmasq(e.network_name, e.container_id); !m) report.errors.push_back(m.error());
          }
        }
      }
      report.cleaned.push_back(what + " without a pod: deleted");
    }
  }

  // host-local leases (<dataDir>/<network>/<ip>, first line the container id) of podns container
  // ids without an attachment: released.
  void leases_without_pod() {
    std::set<std::string> data_dirs{env.default_network.data_dir, "/var/lib/cni/networks"};
    for (const auto& p : pods) {
      for (const auto& a : p.attachments) {
        auto parsed = parse_json(a.config);
        if (!parsed) continue;
        const nlohmann::json& j = *parsed;
        if (!j.is_object() || !j.contains("plugins") || !j["plugins"].is_array()) continue;
        for (const auto& pl : j["plugins"]) {
          if (pl.is_object() && pl.contains("ipam") && pl["ipam"].is_object() && pl["ipam"].contains("dataDir") &&
              pl["ipam"]["dataDir"].is_string())
            data_dirs.insert(pl["ipam"]["dataDir"].get<std::string>());
        }
      }
    }
    for (const auto& dd : data_dirs) {
      for (const auto& network : dir_names(dd)) {
        std::string ndir = dd + "/" + network;
        for (const auto& f : dir_names(ndir)) {
          if (f.rfind("last_reserved_ip", 0) == 0 || f == "lock") continue;
          // "<container id>\r\n<ifname>": a few dozen bytes; anything else is not a lease.
          auto lease = read_regular_file(ndir + "/" + f, 4096, Errc::corrupt);
          if (!lease) continue;
          std::string id = lease->substr(0, lease->find('\n'));
          if (!id.empty() && id.back() == '\r') id.pop_back();
          if (id.rfind(kIdPrefix, 0) != 0 || lease_owners.count({network, id})) continue;
          if (::unlink((ndir + "/" + f).c_str()) == 0)
            report.cleaned.push_back(fmt::format("host-local lease {} of {} in network {} without a pod: released", f,
                                                 id, network));
        }
      }
    }
  }

  // The firewall table rebuilt from the state: map elements no pod owns go, missing ones come back
  // (a crash between an element and its state, `nft flush ruleset`). Only where native networks
  // exist: podns makes no table otherwise.
  void firewall_from_state() {
    auto nets = store.list_networks();
    if (!nets) {
      report.errors.push_back(Error(nets.error()).context("firewall"));
      return;
    }
    if (nets->empty()) return;
    detail::LazyHostPlane host(env);
    auto plane = host.get();
    if (!plane) {
      report.errors.push_back(Error(plane.error()).context("firewall"));
      return;
    }
    if (auto s = (*plane)->sync(store); !s) report.errors.push_back(s.error());
  }

  void helpers_without_pod() {
    std::vector<rootless::RootlessNetRecord> live;
    for (const auto& p : pods) {
      for (const auto& h : p.helpers) {
        if (h.record.empty()) continue;
        if (auto r = rootless::record_from_json(h.record)) live.push_back(*r);
      }
    }
    auto lines = rootless::gc(env.paths.run_dir + "/rootless", live);
    if (!lines) {
      report.errors.push_back(Error(lines.error()).context("helper processes"));
      return;
    }
    report.cleaned.insert(report.cleaned.end(), lines->begin(), lines->end());
  }
};

}  // namespace

Result<GcReport> gc(const PodEnv& env) {
  auto global = state::lock_global(env.paths.locks_dir(), state::FileLock::Mode::exclusive, env.lock_timeout);
  if (!global) return fail_with(global, "gc: wait for running pod operations");
  auto store = detail::open_store(env);
  if (!store) return fail_with(store, "gc");
  GcReport report;
  // Each step says what it is before it starts (a progress line for gc over many pods).
  constexpr size_t kSteps = 9;
  size_t step = 0;
  auto next = [&](std::string_view what) { env.progress(fmt::format("gc: {}", what), step++, kSteps); };
  next("pods of an earlier boot");
  detail::reconcile_boot(env, *store, &report.cleaned, &report.errors);
  next("crashed operations");
  detail::recover_crashed(env, *store, &report.cleaned, &report.errors);
  Gc g{env, *store, report, {}, {}, {}, {}, {}};
  if (auto s = g.reload(); !s) return fail_with(s, "gc");
  next("pods whose netns is gone");
  g.state_without_pins();
  if (auto s = g.reload(); !s) return fail_with(s, "gc");
  // DEL before unpinning: the plugins clean up inside the netns while it still exists.
  next("pending CNI DELs");
  g.pending_dels();
  next("CNI cache entries without a pod");
  g.cache_without_pod();
  next("pins without a pod");
  g.pins_without_state();
  next("leases without a pod");
  g.leases_without_pod();
  next("firewall");
  g.firewall_from_state();
  next("helpers without a pod");
  g.helpers_without_pod();
  return report;
}

}  // namespace podns::pod
