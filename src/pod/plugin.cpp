// What the podns-bridge CNI plugin does, as library calls: ADD, DEL and GC of attachments made for
// other runtimes (one pods row of kind cni each), and the network they need.
#include "podns/pod/plugin.hpp"

#include <algorithm>
#include <ctime>
#include <set>

#include <fmt/format.h>

#include "pod/internal.hpp"
#include "podns/cni/config.hpp"
#include "podns/json_dump.hpp"
#include "podns/json_parse.hpp"
#include "podns/names.hpp"
#include "podns/namespace.hpp"

namespace podns::pod {
namespace {

using detail::kill_point;

// The row's lock file is "pod-<name>.lock": the name must leave room for that in NAME_MAX.
constexpr std::size_t kMaxRowName = 240;

Status validate_key(const PluginKey& k) {
  if (auto s = validate_name(k.network); !s) return fail_with(s, "network");
  if (auto s = cni::validate_container_id(k.container_id); !s) return s;
  if (auto s = validate_ifname(k.ifname); !s) return s;
  if (plugin_row_name(k).size() > kMaxRowName)
    return fail(Errc::invalid_argument, fmt::format("network name, container id and ifname together are longer "
                                                    "than {} bytes",
                                                    kMaxRowName - 6));
  return {};
}

std::string describe(const network::Network& n) {
  std::string s = fmt::format("bridge {}", n.bridge);
  for (const auto& r : n.ranges)
    s += fmt::format(", {} (gateway {}, {}-{})", r.subnet.str(), r.gateway.str(), r.start.str(), r.end.str());
  if (n.mtu) s += fmt::format(", mtu {}", n.mtu);
  s += n.internal ? ", internal" : n.masquerade ? ", masquerade" : ", no masquerade";
  return s;
}

// The network the config defines, as podns would store it (nothing else consulted).
Result<network::Network> wanted_network(const network::NetworkOptions& o) {
  auto n = network::make_network(o, {}, {});
  if (!n) return fail(n.error());
  return n;
}

// The state's network of that name with the config's definition (see plugin_add).
Result<network::Network> plugin_network(const PodEnv& env, state::Store& store, const network::NetworkOptions& o) {
  const auto doing = fmt::format("network {}", o.name);
  auto wanted = wanted_network(o);
  if (!wanted) return fail_with(wanted, doing);
  // The usual case, read-only: it exists and matches.
  if (auto rec = store.get_network(o.name)) {
    auto have = network::Network::from_record(*rec);
    if (!have) return fail_with(have, doing);
    if (have->same_definition(*wanted)) return std::move(*have);
  } else if (!rec.error().is(Errc::not_found)) {
    return fail_with(rec, doing);
  }

  detail::LazyHostPlane host(env);
  auto plane = host.get();
  if (!plane) return fail_with(plane, doing);
  std::optional<network::Network> out;
  // One transaction: of two processes adding the first pod at once, one creates the network (its
  // row and its rules together, as `network create`), the other finds it made.
  auto made = store.transaction([&]() -> Status {
    auto recs = store.list_networks();
    if (!recs) return fail(recs.error());
    std::vector<network::Network> others;
    std::optional<network::Network> old;
    for (const auto& r : *recs) {
      auto n = network::Network::from_record(r);
      if (!n) return fail(n.error());
      if (n->name == o.name) old = std::move(*n);
      else others.push_back(std::move(*n));
    }
    auto fresh = network::make_network(o, others, {});
    if (!fresh) return fail(fresh.error());
    if (old && old->same_definition(*fresh)) {
      out = std::move(*old);
      return {};
    }
    if (old) {
      // Replaced only while nothing uses it: live pods never lose their addresses under them.
      if (auto s = store.delete_network(o.name); !s) {
        if (!s.error().is(Errc::busy)) return s;
        return fail(Errc::invalid_argument,
                    fmt::format("it exists with another definition ({}) and is in use ({}); the config asks for {}",
                                describe(*old), s.error().what(), describe(*fresh)));
      }
      // Its bridge carries the old gateways: it goes, and comes back as the new one on first use.
      if (auto link = (*plane)->links().link(old->bridge); link && link->kind == "bridge") {
        if (auto s = (*plane)->links().delete_link(link->index); !s && !s.error().is(Errc::not_found)) return s;
      }
    }
    fresh->created_at = static_cast<std::int64_t>(::time(nullptr));
    if (auto s = store.insert_network(fresh->record()); !s) return s;
    // Inside the transaction: a failed load leaves no network behind.
    if (auto s = (*plane)->sync(store); !s) return s;
    out = std::move(*fresh);
    return {};
  });
  if (!made) return fail_with(made, doing);
  return std::move(*out);
}

nlohmann::json row_spec(const PluginAddRequest& req) {
  return {{"containerID", req.key.container_id},
          {"network", req.key.network},
          {"ifname", req.key.ifname},
          {"config", req.config.is_null() ? nlohmann::json::object() : req.config}};
}

// The key a row's spec records (plugin rows only; nullopt for anything else).
std::optional<PluginKey> key_of(const state::PodRecord& pod) {
  if (pod.kind != state::PodKind::cni) return std::nullopt;
  auto parsed = parse_json(pod.spec);
  if (!parsed || !parsed->is_object()) return std::nullopt;
  const nlohmann::json& j = *parsed;
  auto text = [&](const char* k) { return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : ""; };
  return PluginKey{text("network"), text("containerID"), text("ifname")};
}

// "10.89.0.5/24" in canonical text, or "" when it is no address with a prefix.
std::string canonical_cidr(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return {};
  auto ip = network::IpAddr::parse(text.substr(0, slash));
  if (!ip) return {};
  return fmt::format("{}/{}", ip->str(), text.substr(slash + 1));
}

}  // namespace

std::string plugin_row_name(const PluginKey& key) {
  return fmt::format("cni:{}:{}:{}", key.network, key.container_id, key.ifname);
}

Result<state::AttachmentRecord> plugin_add(const PodEnv& env, const PluginAddRequest& req) {
  const auto& k = req.key;
  const auto doing = fmt::format("add {} ({}) to network {}", k.container_id, k.ifname, k.network);
  if (auto s = validate_key(k); !s) return fail_with(s, doing);
  if (req.network.name != k.network)
    return fail(Errc::invalid_argument, fmt::format("{}: the definition is of network {}", doing, req.network.name));
  if (req.netns_path.empty() || req.netns_path[0] != '/')
    return fail(Errc::invalid_argument, fmt::format("{}: netns path \"{}\" is not absolute", doing, req.netns_path));
  const std::string name = plugin_row_name(k);
  auto locks = detail::lock_for_operation(env, name);
  if (!locks) return fail_with(locks, doing);
  auto store = detail::open_store(env);
  if (!store) return fail_with(store, doing);
  // Until the row is recorded, a failure leaves no trace: not even the lock file.
  auto refused = [&](Error e) {
    if (auto row = store->get_pod(name); !row && row.error().is(Errc::not_found)) locks->pod.unlink_and_release();
    return fail(std::move(e).context(doing));
  };
  detail::reconcile_boot(env, *store);
  detail::recover_crashed(env, *store);
  auto net = plugin_network(env, *store, req.network);
  if (!net) return refused(net.error());
  for (const auto& ip : req.ips) {
    if (!net->contains(ip))
      return refused(Error(Errc::invalid_argument, fmt::format("ip {} is in no subnet of the network", ip.str())));
  }

  // A row of this attachment left by an ADD or DEL that died (we hold its lock: nothing runs on
  // it) is torn down first; a finished one means the runtime skipped the DEL.
  if (auto old = store->load(name)) {
    if (old->pod.phase == state::PodPhase::ready)
      return fail(Errc::already_exists, fmt::format("{}: attached already (the runtime must DEL it first)", doing));
    if (auto s = detail::teardown(env, *store, *old, /*force=*/false); !s) return fail_with(s, doing);
  } else if (!old.error().is(Errc::not_found)) {
    return fail_with(old, doing);
  }

  state::PodRecord rec{name, state::PodPhase::creating, json_dump(row_spec(req)), req.netns_path, "", 0};
  rec.kind = state::PodKind::cni;
  std::vector<state::PortMapping> ports;
  for (const auto& p : req.ports) ports.push_back({name, p.host_ip, p.host_port, p.container_port, p.protocol, p.range});
  if (auto s = store->insert_pod(rec, ports); !s) return refused(s.error());
  kill_point("plugin.recorded");

  auto attach = [&]() -> Result<state::AttachmentRecord> {
    auto ns = Namespace::open_path(req.netns_path, NamespaceType::net);
    if (!ns) return fail_with(ns, "netns");
    detail::LazyHostPlane host(env);
    auto plane = host.get();
    if (!plane) return fail(plane.error());
    network::AttachRequest ar;
    ar.pod = name;
    ar.container_id = k.container_id;
    ar.index = 0;
    ar.ifname = k.ifname;
    ar.netns_path = req.netns_path;
    ar.netns = ns->fd();
    ar.ips = req.ips;
    ar.mac = req.mac;
    ar.default_route = req.default_route;
    ar.routes = req.routes;
    ar.ports = ports;
    auto a = network::attach(*store, **plane, *net, ar);
    if (!a) return fail(a.error());
    if (auto s = store->set_pod_phase(name, state::PodPhase::ready); !s) return fail(s.error());
    return a;
  };
  auto a = attach();
  if (!a) {
    Error first = a.error();
    auto st = store->load(name);
    if (!st) {
      env.warn(Error(st.error()).context(doing + ": roll back"));
    } else if (auto r = detail::teardown(env, *store, *st, /*force=*/false); !r) {
      env.warn(Error(r.error()).context(doing + ": roll back (DEL or podns gc retries it)"));
    } else {
      locks->pod.unlink_and_release();
    }
    return fail(first.context(doing));
  }
  return a;
}

Status plugin_del(const PodEnv& env, const PluginKey& k) {
  const auto doing = fmt::format("delete {} ({}) from network {}", k.container_id, k.ifname, k.network);
  if (auto s = validate_key(k); !s) return fail_with(s, doing);
  const std::string name = plugin_row_name(k);
  auto locks = detail::lock_for_operation(env, name);
  if (!locks) return fail_with(locks, doing);
  auto store = detail::open_store(env);
  if (!store) return fail_with(store, doing);
  detail::reconcile_boot(env, *store);
  detail::recover_crashed(env, *store);
  auto st = store->load(name);
  if (!st) {
    if (!st.error().is(Errc::not_found)) return fail_with(st, doing);
    locks->pod.unlink_and_release();
    return {};  // never added, or deleted already
  }
  if (auto s = detail::teardown(env, *store, *st, /*force=*/false); !s) return fail_with(s, doing);
  locks->pod.unlink_and_release();
  return {};
}

Status plugin_check(const PodEnv& env, const PluginKey& k, const network::NetworkOptions& options,
                    const std::string& netns_path, std::span<const std::string> expected) {
  const auto doing = fmt::format("check {} ({}) on network {}", k.container_id, k.ifname, k.network);
  if (auto s = validate_key(k); !s) return fail_with(s, doing);
  const std::string name = plugin_row_name(k);
  auto locks = detail::lock_for_operation(env, name);
  if (!locks) return fail_with(locks, doing);
  auto store = detail::open_store(env);
  if (!store) return fail_with(store, doing);
  auto st = store->load(name);
  if (!st) {
    if (!st.error().is(Errc::not_found)) return fail_with(st, doing);
    locks->pod.unlink_and_release();
    return fail(Errc::not_found, doing + ": no such attachment");
  }
  // A difference is no error of the system (no code): the message says it all.
  auto bad = [&](std::string why) { return fail(Error(std::error_code(), fmt::format("{}: {}", doing, why))); };
  if (st->pod.phase != state::PodPhase::ready || st->attachments.empty() ||
      st->attachments[0].state != state::RowState::done)
    return bad("its ADD did not finish");
  const auto& a = st->attachments[0];
  if (!netns_path.empty() && netns_path != st->pod.netns_path)
    return bad(fmt::format("it was added in netns {}, not {}", st->pod.netns_path, netns_path));

  auto rec = store->get_network(k.network);
  if (!rec) return fail_with(rec, doing);
  auto net = network::Network::from_record(*rec);
  if (!net) return fail_with(net, doing);
  auto wanted = wanted_network(options);
  if (!wanted) return fail_with(wanted, doing);
  if (!net->same_definition(*wanted))
    return bad(fmt::format("the network is now {}, the config asks for {}", describe(*net), describe(*wanted)));

  // The leases, as CIDRs of their subnets, against what the runtime was told.
  auto leases = store->attachment_leases(name, 0);
  if (!leases) return fail_with(leases, doing);
  std::set<std::string> have;
  std::vector<std::pair<std::string, int>> addrs;  // address, prefix
  for (const auto& l : *leases) {
    auto ip = network::IpAddr::parse(l.address);
    if (!ip) return fail_with(ip, doing);
    for (const auto& r : net->ranges)
      if (r.subnet.contains(*ip)) {
        have.insert(fmt::format("{}/{}", ip->str(), r.subnet.prefix));
        addrs.push_back({ip->str(), r.subnet.prefix});
      }
  }
  std::set<std::string> want;
  for (const auto& e : expected) want.insert(canonical_cidr(e));
  if (have != want) {
    std::string h, w;
    for (const auto& x : have) h += (h.empty() ? "" : ", ") + x;
    for (const auto& x : want) w += (w.empty() ? "" : ", ") + x;
    return bad(fmt::format("it holds {} but the previous result says {}", h.empty() ? "no address" : h,
                           w.empty() ? "none" : w));
  }

  // The kernel: the pod's interface, up, with the addresses; its host end on the bridge.
  auto pod = net::open_netlink_client_in(st->pod.netns_path);
  if (!pod) return fail_with(pod, doing + ": netns");
  auto eth = (*pod)->link(k.ifname);
  if (!eth) return fail_with(eth, doing + ": interface");
  if (!eth->is_up()) return bad(fmt::format("{} is down", k.ifname));
  auto on = (*pod)->addresses();
  if (!on) return fail_with(on, doing);
  for (const auto& [ip, prefix] : addrs) {
    bool found = std::any_of(on->begin(), on->end(), [&](const net::Address& x) {
      return x.index == eth->index && x.prefix_len == prefix && network::IpAddr::parse(x.address) &&
             network::IpAddr::parse(x.address)->str() == ip;
    });
    if (!found) return bad(fmt::format("{} lacks {}/{}", k.ifname, ip, prefix));
  }
  detail::LazyHostPlane host(env);
  auto plane = host.get();
  if (!plane) return fail_with(plane, doing);
  auto bridge = (*plane)->links().link(net->bridge);
  if (!bridge) return fail_with(bridge, doing + ": bridge");
  auto veth = (*plane)->links().link(a.host_ifname);
  if (!veth) return fail_with(veth, doing + ": host end of the veth");
  if (veth->master != bridge->index) return bad(fmt::format("{} is not a port of {}", a.host_ifname, net->bridge));

  // The firewall: the network's rules and the attachment's forwards.
  auto installed = [&] {
    std::lock_guard guard((*plane)->firewall_mutex());
    return (*plane)->firewall().installed();
  }();
  if (!installed) return fail_with(installed, doing + ": firewall");
  if (!installed->table || !installed->complete) return bad("the firewall table is missing or incomplete");
  if (std::find(installed->bridges.begin(), installed->bridges.end(), net->bridge) == installed->bridges.end())
    return bad(fmt::format("the firewall has no rules for bridge {}", net->bridge));
  for (const auto& f : network::forwards_of(st->ports, *leases)) {
    if (std::find(installed->forwards.begin(), installed->forwards.end(), f) == installed->forwards.end())
      return bad(fmt::format("the firewall lacks the forward of {} port {}", fw::to_string(f.proto), f.host_port));
  }
  return {};
}

PluginStatus plugin_status(const PodEnv& env, const network::NetworkOptions& options) {
  auto unavailable = [](std::string why) { return PluginStatus{PluginHealth::unavailable, std::move(why)}; };
  auto store = detail::open_store(env);
  if (!store) return unavailable(store.error().message());
  detail::LazyHostPlane host(env);
  auto plane = host.get();
  if (!plane) return unavailable(plane.error().message());
  auto installed = [&] {
    std::lock_guard guard((*plane)->firewall_mutex());
    return (*plane)->firewall().installed();
  }();
  if (!installed) return unavailable(Error(installed.error()).context("firewall").message());

  auto wanted = wanted_network(options);
  if (!wanted) return unavailable(wanted.error().message());
  auto rec = store->get_network(options.name);
  if (!rec && !rec.error().is(Errc::not_found)) return unavailable(rec.error().message());
  std::optional<network::Network> net;
  if (rec) {
    auto n = network::Network::from_record(*rec);
    if (!n) return unavailable(n.error().message());
    net = std::move(*n);
  }
  if (!net || !net->same_definition(*wanted)) {
    // ADD makes it (or replaces an unused one), if podns can make it beside the others.
    if (net) {
      auto leases = store->leases(options.name);
      if (!leases) return unavailable(leases.error().message());
      if (!leases->empty())
        return unavailable(fmt::format("network {} exists with another definition ({}) and is in use", options.name,
                                       describe(*net)));
    }
    auto recs = store->list_networks();
    if (!recs) return unavailable(recs.error().message());
    std::vector<network::Network> others;
    for (const auto& r : *recs)
      if (auto n = network::Network::from_record(r); n && n->name != options.name) others.push_back(std::move(*n));
    if (auto n = network::make_network(options, others, {}); !n) return unavailable(n.error().message());
    return {};
  }
  auto leases = store->leases(options.name);
  if (!leases) return unavailable(leases.error().message());
  for (const auto& r : net->ranges) {
    std::uint64_t used = 0;
    for (const auto& l : *leases) {
      auto ip = network::IpAddr::parse(l.address);
      if (ip && ip->family == r.start.family && r.start <= *ip && *ip <= r.end) ++used;
    }
    if (used >= r.capacity())
      return unavailable(fmt::format("network {}: every address of {}-{} is leased", net->name, r.start.str(),
                                     r.end.str()));
  }
  if (!leases->empty()) {
    auto degraded = [](std::string why) { return PluginStatus{PluginHealth::degraded, std::move(why)}; };
    auto bridge = (*plane)->links().link(net->bridge);
    if (!bridge)
      return degraded(fmt::format("network {}: bridge {} is gone (podns network reload brings it back)", net->name,
                                  net->bridge));
    if (!installed->table || !installed->complete ||
        std::find(installed->bridges.begin(), installed->bridges.end(), net->bridge) == installed->bridges.end())
      return degraded(fmt::format("network {}: its firewall rules are missing (podns network reload mends them)",
                                  net->name));
  }
  return {};
}

Result<std::vector<std::string>> plugin_gc(const PodEnv& env, const std::string& network,
                                           std::span<const PluginKey> valid) {
  const auto doing = fmt::format("gc network {}", network);
  if (auto s = validate_name(network); !s) return fail_with(s, doing);
  auto global = state::lock_global(env.paths.locks_dir(), state::FileLock::Mode::exclusive, env.lock_timeout);
  if (!global) return fail_with(global, doing + ": wait for running operations");
  auto store = detail::open_store(env);
  if (!store) return fail_with(store, doing);
  std::vector<std::string> cleaned;
  detail::reconcile_boot(env, *store, &cleaned);
  detail::recover_crashed(env, *store, &cleaned);
  auto all = store->load_all();
  if (!all) return fail_with(all, doing);
  std::vector<Error> errors;
  for (const auto& st : *all) {
    auto key = key_of(st.pod);
    if (!key || key->network != network) continue;
    bool keep = std::any_of(valid.begin(), valid.end(), [&](const PluginKey& v) {
      return v.container_id == key->container_id && v.ifname == key->ifname;
    });
    if (keep) continue;
    // Free: the global lock excludes every other operation.
    auto lock = state::lock_pod(env.paths.locks_dir(), st.pod.name, env.lock_timeout);
    if (!lock) {
      errors.push_back(lock.error());
      continue;
    }
    if (auto s = detail::teardown(env, *store, st, /*force=*/false); !s) {
      errors.push_back(s.error());
      continue;
    }
    lock->unlink_and_release();
    cleaned.push_back(fmt::format("attachment {} ({}) on network {}: not a valid attachment, released",
                                  key->container_id, key->ifname, network));
  }
  if (!errors.empty()) {
    for (size_t i = 1; i < errors.size(); ++i) env.warn(errors[i]);
    return fail(errors.front().context(doing));
  }
  return cleaned;
}

}  // namespace podns::pod
