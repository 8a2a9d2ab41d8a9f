// `podns network create|ls|inspect|rm|reload`: native networks beside the CNI conflists.
#include "podns/pod/networks.hpp"

#include <algorithm>
#include <ctime>
#include <map>
#include <set>

#include <fmt/format.h>

#include "pod/internal.hpp"
#include "podns/cni/config.hpp"
#include "podns/names.hpp"

namespace podns::pod {
namespace {

Result<std::vector<network::Network>> native_networks(state::Store& store) {
  auto recs = store.list_networks();
  if (!recs) return fail(recs.error());
  std::vector<network::Network> out;
  for (const auto& r : *recs) {
    auto n = network::Network::from_record(r);
    if (!n) return fail(n.error());
    out.push_back(std::move(*n));
  }
  return out;
}

// The pods with an attachment on `network`, from the state.
Result<std::vector<state::PodState>> pods_on(state::Store& store, const std::string& network) {
  auto all = store.load_all();
  if (!all) return fail(all.error());
  std::vector<state::PodState> out;
  for (auto& p : *all) {
    if (std::any_of(p.attachments.begin(), p.attachments.end(), [&](const auto& a) { return a.network == network; }))
      out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

Result<network::Network> network_create(const PodEnv& env, const network::NetworkOptions& o) {
  const auto doing = fmt::format("create network {}", o.name);
  if (auto s = validate_name(o.name); !s) return fail_with(s, doing);
  if (auto c = cni::load_network(env.cni_conf_dir, o.name); c)
    return fail(Errc::already_exists,
                fmt::format("{}: a CNI network of that name exists ({})", doing, c->source));
  auto global = state::lock_global(env.paths.locks_dir(), state::FileLock::Mode::exclusive, env.lock_timeout);
  if (!global) return fail_with(global, doing + ": wait for running pod operations");
  auto store = detail::open_store(env);
  if (!store) return fail_with(store, doing);
  detail::reconcile_boot(env, *store);
  auto existing = native_networks(*store);
  if (!existing) return fail_with(existing, doing);
  detail::LazyHostPlane host(env);
  auto plane = host.get();
  if (!plane) return fail_with(plane, doing);
  auto links = (*plane)->links().links();
  if (!links) return fail_with(links, doing);
  std::vector<std::string> taken;
  for (const auto& l : *links) taken.push_back(l.name);
  auto net = network::make_network(o, *existing, taken);
  if (!net) return fail_with(net, doing);
  net->created_at = static_cast<int64_t>(::time(nullptr));

  // The row and the rules together: the table is synced from the state inside the transaction, so
  // a failed sync leaves no network behind, and a crash after it only leaves rules that the next
  // sync drops.
  auto made = store->transaction([&]() -> Status {
    if (auto s = store->insert_network(net->record()); !s) return s;
    return (*plane)->sync(*store);
  });
  if (!made) return fail_with(made, doing);
  if (auto b = network::ensure_bridge((*plane)->links(), *net); !b) {
    // The network exists; its bridge comes on first use (or `network reload`).
    env.warn(Error(b.error()).context(doing));
  }
  if (auto drops = fw::foreign_forward_drops(); drops && !drops->empty())
    env.warn(Error(Errc::unsupported, fmt::format("{}: {} drops forwarded traffic: pods on this network reach "
                                                  "nothing beyond the host until it accepts their subnets",
                                                  doing, drops->front())));
  return std::move(*net);
}

Result<std::vector<NetworkSummary>> network_list(const PodEnv& env) {
  auto store = detail::open_store(env);
  if (!store) return fail_with(store, "list networks");
  auto nets = native_networks(*store);
  if (!nets) return fail_with(nets, "list networks");
  auto leases = store->all_leases();
  if (!leases) return fail_with(leases, "list networks");
  std::map<std::string, std::set<std::string>> pods;
  for (const auto& l : *leases) pods[l.network].insert(l.pod);
  std::vector<NetworkSummary> out;
  for (const auto& n : *nets) {
    NetworkSummary s{n.name, "bridge", n.bridge, {}, n.internal, "", static_cast<int>(pods[n.name].size())};
    for (const auto& r : n.ranges) s.subnets.push_back(r.subnet.str());
    out.push_back(std::move(s));
  }
  if (auto cnis = cni::load_networks(env.cni_conf_dir)) {
    for (const auto& c : *cnis) {
      if (std::any_of(out.begin(), out.end(), [&](const auto& s) { return s.name == c.name; })) continue;
      out.push_back({c.name, "cni", "", {}, false, c.source, 0});
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

nlohmann::json to_json(const NetworkSummary& s) {
  nlohmann::json j = {{"name", s.name}, {"driver", s.driver}};
  if (s.driver == "cni") {
    j["source"] = s.source;
  } else {
    j["bridge"] = s.bridge;
    j["subnets"] = s.subnets;
    j["internal"] = s.internal;
    j["pods"] = s.pods;
  }
  return j;
}

Result<NetworkDetails> network_inspect(const PodEnv& env, const std::string& name) {
  const auto doing = fmt::format("inspect network {}", name);
  auto store = detail::open_store(env);
  if (!store) return fail_with(store, doing);
  auto rec = store->get_network(name);
  if (!rec) {
    if (rec.error().is(Errc::not_found)) return fail(Errc::not_found, doing + ": no such podns network");
    return fail_with(rec, doing);
  }
  auto net = network::Network::from_record(*rec);
  if (!net) return fail_with(net, doing);
  NetworkDetails d;
  d.network = std::move(*net);

  auto leases = store->leases(name);
  if (!leases) return fail_with(leases, doing);
  auto pods = pods_on(*store, name);
  if (!pods) return fail_with(pods, doing);
  std::vector<state::Lease> first_leases;
  std::vector<state::PortMapping> ports;
  for (const auto& p : *pods) {
    for (const auto& a : p.attachments) {
      if (a.network != name) continue;
      NetworkMember m{p.pod.name, std::string(state::to_string(p.pod.kind)), "", a.ifname, a.host_ifname, {}};
      if (p.pod.kind == state::PodKind::cni) m.container_id = a.container_id;
      for (const auto& l : *leases)
        if (l.pod == p.pod.name && l.index == a.index) {
          m.addresses.push_back(l.address);
          if (a.index == 0) first_leases.push_back(l);
        }
      if (a.index == 0) ports.insert(ports.end(), p.ports.begin(), p.ports.end());
      d.members.push_back(std::move(m));
    }
  }

  detail::LazyHostPlane host(env);
  auto plane = host.get();
  if (!plane) return fail_with(plane, doing);
  auto link = (*plane)->links().link(d.network.bridge);
  d.bridge_present = link && link->kind == "bridge";
  auto installed = [&] {
    std::lock_guard guard((*plane)->firewall_mutex());
    return (*plane)->firewall().installed();
  }();
  if (auto inst = installed) {
    d.firewall_table = inst->table;
    d.firewall_complete = inst->complete;
    d.firewall_has_network =
        std::find(inst->bridges.begin(), inst->bridges.end(), d.network.bridge) != inst->bridges.end();
    // Expected forwards of this network's pods, per pod (their own mappings and leases).
    for (const auto& p : *pods) {
      std::vector<state::Lease> pl;
      for (const auto& l : first_leases)
        if (l.pod == p.pod.name) pl.push_back(l);
      for (const auto& f : network::forwards_of(p.ports, pl)) {
        ++d.forwards_expected;
        if (std::find(inst->forwards.begin(), inst->forwards.end(), f) == inst->forwards.end()) ++d.forwards_missing;
      }
    }
  }
  if (auto drops = fw::foreign_forward_drops()) d.foreign_forward_drops = std::move(*drops);
  return d;
}

nlohmann::json to_json(const NetworkDetails& d) {
  nlohmann::json j = network::to_json(d.network);
  nlohmann::json members = nlohmann::json::array();
  for (const auto& m : d.members) {
    nlohmann::json one = {{"pod", m.pod}, {"kind", m.kind}, {"interface", m.ifname},
                          {"hostInterface", m.host_ifname}, {"addresses", m.addresses}};
    if (!m.container_id.empty()) one["containerID"] = m.container_id;
    members.push_back(std::move(one));
  }
  j["pods"] = std::move(members);
  j["live"] = {{"bridge", d.bridge_present},
               {"firewall", {{"table", d.firewall_table},
                             {"complete", d.firewall_complete},
                             {"network", d.firewall_has_network},
                             {"forwardsExpected", d.forwards_expected},
                             {"forwardsMissing", d.forwards_missing}}},
               {"foreignForwardDrops", d.foreign_forward_drops}};
  return j;
}

Status network_remove(const PodEnv& env, const std::string& name, bool force) {
  const auto doing = fmt::format("remove network {}", name);
  if (auto s = validate_name(name); !s) return fail_with(s, doing);
  auto global = state::lock_global(env.paths.locks_dir(), state::FileLock::Mode::exclusive, env.lock_timeout);
  if (!global) return fail_with(global, doing + ": wait for running pod operations");
  auto store = detail::open_store(env);
  if (!store) return fail_with(store, doing);
  detail::reconcile_boot(env, *store);
  detail::recover_crashed(env, *store);
  auto rec = store->get_network(name);
  if (!rec) {
    if (rec.error().is(Errc::not_found)) {
      if (force) return {};
      return fail(Errc::not_found, doing + ": no such podns network");
    }
    return fail_with(rec, doing);
  }
  auto net = network::Network::from_record(*rec);
  if (!net) return fail_with(net, doing);
  auto pods = pods_on(*store, name);
  if (!pods) return fail_with(pods, doing);
  if (!pods->empty() && !force) {
    std::string names;
    for (const auto& p : *pods) names += (names.empty() ? "" : ", ") + p.pod.name;
    return fail(Errc::busy, fmt::format("{}: used by pod{} {} (--force removes them)", doing,
                                        pods->size() > 1 ? "s" : "", names));
  }
  for (const auto& p : *pods) {
    // The global lock excludes every pod operation: their own locks are free.
    auto lock = state::lock_pod(env.paths.locks_dir(), p.pod.name, env.lock_timeout);
    if (!lock) return fail_with(lock, doing);
    if (auto s = detail::teardown(env, *store, p, /*force=*/true); !s) return fail_with(s, doing);
    lock->unlink_and_release();
  }
  detail::LazyHostPlane host(env);
  auto plane = host.get();
  if (!plane) return fail_with(plane, doing);
  // The bridge first: a crash after it leaves a network whose bridge comes back on use, never a
  // bridge that no network owns.
  if (auto link = (*plane)->links().link(net->bridge); link && link->kind == "bridge") {
    if (auto s = (*plane)->links().delete_link(link->index); !s && !s.error().is(Errc::not_found))
      return fail_with(s, doing);
  }
  auto removed = store->transaction([&]() -> Status {
    if (auto s = store->delete_network(name); !s) return s;
    return (*plane)->sync(*store);
  });
  if (!removed) return fail_with(removed, doing);
  return {};
}

Result<std::vector<std::string>> network_reload(const PodEnv& env) {
  const auto doing = std::string("reload networks");
  auto global = state::lock_global(env.paths.locks_dir(), state::FileLock::Mode::shared, env.lock_timeout);
  if (!global) return fail_with(global, doing);
  auto store = detail::open_store(env);
  if (!store) return fail_with(store, doing);
  detail::reconcile_boot(env, *store);
  auto nets = native_networks(*store);
  if (!nets) return fail_with(nets, doing);
  std::vector<std::string> done;
  if (nets->empty()) return done;
  detail::LazyHostPlane host(env);
  auto plane = host.get();
  if (!plane) return fail_with(plane, doing);
  const size_t steps = nets->size() + 1;
  for (size_t i = 0; i < nets->size(); ++i) {
    const auto& n = (*nets)[i];
    env.progress(fmt::format("network {}: bridge {}", n.name, n.bridge), i, steps);
    bool had = static_cast<bool>((*plane)->links().link(n.bridge));
    if (auto b = network::ensure_bridge((*plane)->links(), n); !b) return fail_with(b, doing);
    if (!had) done.push_back(fmt::format("network {}: bridge {} recreated", n.name, n.bridge));
  }
  env.progress(fmt::format("firewall: table {}", env.nft_table), nets->size(), steps);
  auto rs = network::desired_ruleset(*store);
  if (!rs) return fail_with(rs, doing);
  if (auto s = (*plane)->sync(*store); !s) return fail_with(s, doing);
  done.push_back(fmt::format("firewall: table {} loaded with {} network{} and {} port forward{}", env.nft_table,
                             rs->networks.size(), rs->networks.size() == 1 ? "" : "s", rs->forwards.size(),
                             rs->forwards.size() == 1 ? "" : "s"));
  return done;
}

}  // namespace podns::pod
