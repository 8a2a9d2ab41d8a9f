// inspect, ls, the netns listing for stats, and oci-spec. ls and oci-spec read the state alone
// (one snapshot, summary columns only, no kernel calls) and show what a restarted podns knows;
// inspect adds what the kernel has now (live.cpp).
#include <fmt/format.h>

#include "pod/internal.hpp"
#include "podns/names.hpp"
#include "podns/json_parse.hpp"
#include "pod/userns_map.hpp"
#include "podns/cni/types.hpp"
#include "podns/namespace_type.hpp"

namespace podns::pod {

std::string_view to_string(NetnsLiveness n) {
  switch (n) {
    case NetnsLiveness::present: return "present";
    case NetnsLiveness::gone: return "gone";
    case NetnsLiveness::unknown: break;
  }
  return "unknown";
}

std::string_view to_string(AttachmentState s) { return s == AttachmentState::attached ? "attached" : "intent"; }

// Built member by member with moves: a braced initializer list copies every nested value it
// holds, which made `pod ls --json` of 1000 pods copy each pod's tree two or three times.
nlohmann::json to_json(const PodInfo& info) {
  nlohmann::json nets = nlohmann::json::array();
  for (const auto& n : info.networks) {
    nlohmann::json addrs = nlohmann::json::array();
    for (const auto& a : n.addresses) {
      nlohmann::json& j = addrs.emplace_back(nlohmann::json::object());
      j["address"] = a.address;
      j["gateway"] = a.gateway;
      j["family"] = a.ipv6 ? "ipv6" : "ipv4";
    }
    nlohmann::json ports = nlohmann::json::array();
    for (const auto& p : n.ports) {
      nlohmann::json& j = ports.emplace_back(nlohmann::json::object());
      j["hostIP"] = p.host_ip;
      j["hostPort"] = p.host_port;
      j["containerPort"] = p.container_port;
      j["protocol"] = p.protocol;
      if (p.range > 1) j["range"] = p.range;
    }
    nlohmann::json& net = nets.emplace_back(nlohmann::json::object());
    net["network"] = n.network;
    net["interface"] = n.ifname;
    net["mac"] = n.mac;
    net["addresses"] = std::move(addrs);
    net["portMappings"] = std::move(ports);
    net["state"] = to_string(n.state);
    if (n.live) {
      nlohmann::json& live = net["live"];
      live["present"] = n.live->present;
      if (n.live->present) {
        live["operstate"] = n.live->operstate;
        live["up"] = n.live->admin_up;
        live["mtu"] = n.live->mtu;
        live["mac"] = n.live->mac;
        live["addresses"] = n.live->addresses;
      }
    }
  }
  nlohmann::json pins = nlohmann::json::object();
  for (const auto& [t, p] : info.pins) pins[std::string(to_string(t))] = p;
  nlohmann::json helpers = nlohmann::json::array();
  for (const auto& [kind, pid] : info.helpers) {
    nlohmann::json& h = helpers.emplace_back(nlohmann::json::object());
    h["kind"] = rootless::driver_name(kind);
    h["pid"] = pid;
    if (info.live) {
      for (const auto& l : info.live->helpers) {
        if (l.kind != kind) continue;
        h["running"] = l.running;
        if (!l.log_tail.empty()) h["log"] = l.log_tail;
      }
    }
  }
  nlohmann::json out = nlohmann::json::object();
  out["name"] = info.name;
  out["phase"] = state::to_string(info.phase);
  out["sandboxKey"] = info.netns_path;
  out["userns"] = info.userns_path;
  out["idMappings"] = info.userns_mappings ? detail::mappings_to_json(*info.userns_mappings) : nlohmann::json();
  out["namespaces"] = std::move(pins);
  out["networks"] = std::move(nets);
  out["helpers"] = std::move(helpers);
  out["created"] = info.created_at;
  if (info.live) {
    out["live"]["netns"] = to_string(info.live->netns);
    if (!info.live->error.empty()) out["live"]["error"] = info.live->error;
  }
  return out;
}

PodInfo detail::pod_info(const state::PodState& st) {
  PodInfo info;
  info.name = st.pod.name;
  info.phase = st.pod.phase;
  info.netns_path = st.pod.netns_path;
  info.userns_path = st.pod.userns_path;
  info.created_at = st.pod.created_at;
  // From the summary columns only (schema 2): no stored JSON is parsed but the id mappings of the
  // pods that have a user namespace, so ls of 1000 pods stays in the low milliseconds.
  if (!st.pod.id_mappings.empty()) {
    auto j = parse_json(st.pod.id_mappings);
    auto m = j ? detail::mappings_from_json(*j) : Result<IdMappings>(fail(j.error()));
    if (m) info.userns_mappings = std::move(*m);
  }
  for (const auto& p : st.pins) {
    // A type this podns does not know (a newer one wrote the row) is left out of the info.
    if (auto t = parse_namespace_type(p.type)) info.pins.emplace_back(*t, p.path);
  }
  for (const auto& h : st.helpers) {
    // A kind this podns does not know (a newer one wrote the row) is left out, as pin types are.
    if (auto kind = rootless::parse_driver(h.kind)) info.helpers.push_back({*kind, h.pid});
  }
  for (const auto& a : st.attachments) {
    NetworkInfo n;
    n.network = a.network;
    n.ifname = a.ifname;
    n.state = a.state == state::RowState::done ? AttachmentState::attached : AttachmentState::intent;
    n.mac = a.summary.mac;
    for (const auto& addr : a.summary.addresses)
      n.addresses.push_back({addr.address, addr.gateway, addr.address.find(':') != std::string::npos});
    // Ports are published through the first network.
    if (a.index == 0) {
      for (const auto& p : st.ports) n.ports.push_back({p.host_ip, p.host_port, p.container_port, p.protocol, p.range});
    }
    info.networks.push_back(std::move(n));
  }
  if (st.attachments.empty() && !st.helpers.empty()) {
    // Rootless networking: the helper publishes the ports.
    NetworkInfo n;
    n.network = st.helpers.front().kind;
    n.state = st.helpers.front().state == state::RowState::done ? AttachmentState::attached : AttachmentState::intent;
    for (const auto& p : st.ports) n.ports.push_back({p.host_ip, p.host_port, p.container_port, p.protocol, p.range});
    info.networks.push_back(std::move(n));
  }
  return info;
}

Result<PodInfo> inspect(const PodEnv& env, const std::string& name) {
  auto doing = fmt::format("inspect pod {}", name);
  if (auto s = validate_name(name); !s) return fail_with(s, doing);
  auto store = detail::open_store(env);
  if (!store) return fail_with(store, doing);
  auto st = store->load(name);
  if (!st) {
    if (st.error().is(Errc::not_found)) return fail(Errc::not_found, fmt::format("{}: no such pod", doing));
    return fail_with(st, doing);
  }
  PodInfo info = detail::pod_info(*st);
  detail::add_live_state(info, *st);
  return info;
}

Result<std::vector<PodInfo>> list(const PodEnv& env) {
  auto store = detail::open_store(env);
  if (!store) return fail_with(store, "list pods");
  // After a reboot the old pods are gone: never list them as ready.
  detail::reconcile_boot(env, *store);
  auto all = store->load_all_summaries();
  if (!all) return fail_with(all, "list pods");
  std::vector<PodInfo> out;
  out.reserve(all->size());
  // podns's pods only: the rows of CNI attachments made for other runtimes are theirs
  // (`network inspect` shows them).
  for (const auto& st : *all)
    if (st.pod.kind == state::PodKind::pod) out.push_back(detail::pod_info(st));
  return out;
}

Result<std::vector<PodNetns>> list_netns(const PodEnv& env) {
  auto store = detail::open_store(env);
  if (!store) return fail_with(store, "list pods");
  auto all = store->load_all_summaries();
  if (!all) return fail_with(all, "list pods");
  std::vector<PodNetns> out;
  for (const auto& st : *all) {
    if (st.pod.phase != state::PodPhase::ready || st.pod.kind != state::PodKind::pod) continue;
    PodNetns n{st.pod.name, st.pod.netns_path, {}};
    for (const auto& a : st.attachments) n.ifnames.push_back(a.ifname);
    out.push_back(std::move(n));
  }
  return out;
}

Result<nlohmann::json> oci_spec(const PodEnv& env, const std::string& name) {
  auto st = [&]() -> Result<state::PodState> {
    auto store = detail::open_store(env);
    if (!store) return fail(store.error());
    return store->load(name);
  }();
  auto doing = fmt::format("OCI spec of pod {}", name);
  if (!st) {
    if (st.error().is(Errc::not_found)) return fail(Errc::not_found, fmt::format("{}: no such pod", doing));
    return fail_with(st, doing);
  }
  if (st->pod.phase != state::PodPhase::ready)
    return fail(Errc::busy, fmt::format("{}: pod is {}", doing, state::to_string(st->pod.phase)));
  nlohmann::json namespaces = nlohmann::json::array();
  // In the table's join order (user first), so the spec reads like one a runtime would write.
  for (const auto& info : all_namespaces()) {
    for (const auto& p : st->pins) {
      if (p.type == info.name) namespaces.push_back({{"type", info.oci_name}, {"path", p.path}});
    }
  }
  nlohmann::json linux_ = {{"namespaces", namespaces}};
  if (!st->pod.id_mappings.empty()) {
    auto stored = parse_json(st->pod.id_mappings);
    if (!stored) return fail_with(stored, doing + ": stored id mappings");
    auto m = detail::mappings_from_json(*stored);
    if (!m) return fail_with(m, doing);
    auto j = detail::mappings_to_json(*m);
    linux_["uidMappings"] = j["uidMappings"];
    linux_["gidMappings"] = j["gidMappings"];
  }
  return nlohmann::json{{"linux", linux_}};
}

}  // namespace podns::pod
