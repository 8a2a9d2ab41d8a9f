// attach / detach: one pod interface on a native network, in process.
#include <sys/random.h>

#include <algorithm>

#include <fmt/format.h>

#include "podns/network/driver.hpp"
#include "podns/json_dump.hpp"
#include "sys/fault.hpp"

namespace podns::network {
namespace {

Result<std::array<std::uint8_t, 6>> random_bytes6() {
  std::array<std::uint8_t, 6> b{};
  if (::getrandom(b.data(), b.size(), 0) != static_cast<ssize_t>(b.size())) return fail_errno("getrandom");
  return b;
}

// "veth" + 8 hex digits, as the CNI bridge plugin and podman name them: unique per attach, since
// the veth of a removed pod may still exist until the kernel has destroyed its namespace.
Result<std::string> random_veth_name() {
  auto b = random_bytes6();
  if (!b) return fail(b.error());
  return fmt::format("veth{:02x}{:02x}{:02x}{:02x}", (*b)[0], (*b)[1], (*b)[2], (*b)[3]);
}

nlohmann::json runtime_config_json(const AttachRequest& req) {
  nlohmann::json caps = nlohmann::json::object();
  if (!req.ips.empty()) {
    caps["ips"] = nlohmann::json::array();
    for (const auto& ip : req.ips) caps["ips"].push_back(ip.str());
  }
  if (!req.mac.empty()) caps["mac"] = req.mac;
  return caps;
}

struct Assigned {
  IpAddr addr;
  const IpRange* range = nullptr;
};

// The pod's MAC, a function of its first IPv4 address (of its first address when it has no IPv4):
// 02:70 (unicast, locally administered) and the address's last four bytes, as Docker did. An
// address handed to a new pod comes with the MAC it had before, so the neighbour caches of the
// bridge's other pods and of the host stay right without a gratuitous ARP, and no ARP is flooded
// to every port of the bridge on each create (at 1000 pods that flood was the largest cost that
// grew with the pod count). Unique per address within an IPv4 network, and within an IPv6 one up
// to 2^32 addresses.
std::string mac_for(const std::vector<Assigned>& addrs) {
  const IpAddr* pick = &addrs.front().addr;
  for (const auto& x : addrs)
    if (x.addr.family == AF_INET) {
      pick = &x.addr;
      break;
    }
  const auto& b = pick->bytes;
  size_t at = pick->family == AF_INET ? 0 : 12;
  return fmt::format("02:70:{:02x}:{:02x}:{:02x}:{:02x}", b[at], b[at + 1], b[at + 2], b[at + 3]);
}

// The routes to add inside the pod: the default route of each address's family when asked, then
// the requested ones (without a gateway: the range's of their family; one with no address of its
// family, or equal to a default route already there, is left out).
std::vector<net::RouteRequest> pod_routes(const AttachRequest& req, const std::vector<Assigned>& addrs) {
  std::vector<net::RouteRequest> out;
  auto have = [&](const net::RouteRequest& r) {
    return std::any_of(out.begin(), out.end(), [&](const net::RouteRequest& o) {
      return o.family == r.family && o.dst == r.dst && o.dst_len == r.dst_len;
    });
  };
  if (req.default_route) {
    for (const auto& x : addrs) {
      net::RouteRequest r{x.addr.family, "", 0, x.range->gateway.str(), 0, 0};
      if (!have(r)) out.push_back(r);
    }
  }
  for (const auto& pr : req.routes) {
    const int family = pr.dst.addr.family;
    auto x = std::find_if(addrs.begin(), addrs.end(), [&](const Assigned& a) { return a.addr.family == family; });
    if (x == addrs.end()) continue;
    net::RouteRequest r{family, pr.dst.prefix == 0 ? "" : pr.dst.addr.str(), pr.dst.prefix,
                        pr.gw ? pr.gw->str() : x->range->gateway.str(), 0, 0};
    if (!have(r)) out.push_back(r);
  }
  return out;
}

// The CNI 1.0.0 result the attachment would have had from the bridge plugin: the host veth, the
// pod's interface with its sandbox, addresses with gateways, the routes.
nlohmann::json result_json(const AttachRequest& req, const std::string& host_if, const std::string& mac,
                           const std::vector<Assigned>& addrs, const std::vector<net::RouteRequest>& pod_routes) {
  nlohmann::json ips = nlohmann::json::array();
  nlohmann::json routes = nlohmann::json::array();
  for (const auto& a : addrs) {
    ips.push_back({{"address", fmt::format("{}/{}", a.addr.str(), a.range->subnet.prefix)},
                   {"gateway", a.range->gateway.str()},
                   {"interface", 1}});
  }
  for (const auto& r : pod_routes) {
    std::string dst = r.dst.empty() ? (r.family == AF_INET ? "0.0.0.0/0" : "::/0") : fmt::format("{}/{}", r.dst, r.dst_len);
    routes.push_back({{"dst", std::move(dst)}, {"gw", r.gateway}});
  }
  return {{"cniVersion", "1.0.0"},
          {"interfaces", nlohmann::json::array({{{"name", host_if}},
                                                {{"name", req.ifname}, {"mac", mac}, {"sandbox", req.netns_path}}})},
          {"ips", std::move(ips)},
          {"routes", std::move(routes)},
          {"dns", nlohmann::json::object()}};
}

}  // namespace

std::vector<fw::PortForward> forwards_of(std::span<const state::PortMapping> ports,
                                         std::span<const state::Lease> leases) {
  std::vector<fw::PortForward> out;
  for (const auto& p : ports) {
    auto proto = fw::parse_proto(p.protocol);
    if (!proto) continue;  // the state only holds validated protocols
    std::optional<IpAddr> host;
    if (!p.host_ip.empty()) {
      auto h = IpAddr::parse(p.host_ip);
      if (!h) continue;
      host = *h;
    }
    for (const auto& l : leases) {
      auto pod_ip = IpAddr::parse(l.address);
      if (!pod_ip || (host && host->family != pod_ip->family)) continue;
      for (int i = 0; i < std::max(p.range, 1); ++i) {
        out.push_back({*proto, p.host_ip, static_cast<std::uint16_t>(p.host_port + i), pod_ip->str(),
                       static_cast<std::uint16_t>(p.container_port + i)});
      }
    }
  }
  return out;
}

Result<state::AttachmentRecord> attach(state::Store& store, HostPlane& host, const Network& net,
                                       const AttachRequest& req) {
  const auto doing = fmt::format("attach network {} as {}", net.name, req.ifname);
  auto host_if = random_veth_name();
  if (!host_if) return fail_with(host_if, doing);
  for (const auto& ip : req.ips) {
    if (!net.contains(ip))
      return fail(Errc::invalid_argument,
                  fmt::format("{}: ip {} is in no subnet of network {}", doing, ip.str(), net.name));
    for (const auto& other : req.ips) {
      if (&other != &ip && other != ip && std::any_of(net.ranges.begin(), net.ranges.end(), [&](const IpRange& r) {
            return r.subnet.contains(ip) && r.subnet.contains(other);
          }))
        return fail(Errc::invalid_argument,
                    fmt::format("{}: ips {} and {} are in one subnet: one address per subnet", doing, ip.str(),
                                other.str()));
    }
  }

  state::AttachmentRecord a;
  a.pod = req.pod;
  a.index = req.index;
  a.network = net.name;
  a.ifname = req.ifname;
  a.container_id = req.container_id;
  a.netns_path = req.netns_path;
  a.config = json_dump(net.options_json());
  a.runtime_config = json_dump(runtime_config_json(req));
  a.driver = state::AttachmentDriver::native;
  a.host_ifname = *host_if;

  // The intent and the leases in one transaction: a crash leaves both or neither.
  std::vector<Assigned> addrs;
  std::vector<state::Lease> leases;
  auto recorded = store.transaction([&]() -> Status {
    addrs.clear();
    if (auto s = store.record_attachment_intent(a); !s) return s;
    for (const auto& r : net.ranges) {
      std::optional<IpAddr> want;
      for (const auto& ip : req.ips)
        if (r.subnet.contains(ip)) want = ip;
      auto ip = allocate(store, net.name, r, req.pod, req.index, want);
      if (!ip) return fail(ip.error());
      addrs.push_back({*ip, &r});
    }
    return {};
  });
  if (!recorded) return fail_with(recorded, doing);
  for (const auto& x : addrs) leases.push_back({net.name, x.addr.str(), req.pod, req.index});
  const std::string mac = req.mac.empty() ? mac_for(addrs) : req.mac;
  sys::fault::crash_point("network.attach-intent");

  auto bridge = ensure_bridge(host.links(), net);
  if (!bridge) return fail_with(bridge, doing);
  // Hairpin: with br_netfilter a pod reaching its own published port is sent back to its own port.
  auto veth = host.links().create_veth({*host_if, req.ifname, req.netns, *bridge, net.mtu, mac, true, true});
  if (!veth) return fail_with(veth, doing);
  sys::fault::crash_point("network.attach-veth");

  // One socket inside the pod's netns for everything on its side.
  auto pod = net::open_netlink_client_in(req.netns);
  if (!pod) return fail_with(pod, doing);
  auto eth = (*pod)->link(req.ifname);
  if (!eth) return fail_with(eth, doing);
  for (const auto& x : addrs) {
    if (auto s = (*pod)->add_address({eth->index, x.addr.str(), x.range->subnet.prefix, true}); !s)
      return fail_with(s, doing);
  }
  // A MAC chosen by the caller may differ from the one the address had before: then a gratuitous
  // ARP as the link comes up (arp_notify) tells the neighbours that still cache the old one. On
  // an IPv4-only network, no IPv6 link-local address: its DAD, router solicitations and MLD
  // reports would be flooded to every pod on the bridge (at 1000 pods, the kernel's per-create
  // cost grew 20x, most of it that traffic), as Docker leaves IPv6 off on IPv4-only networks.
  if (auto s = (*pod)->set_link({eth->index, true, !req.mac.empty(), !net.has_ipv6()}); !s) return fail_with(s, doing);
  const auto routes = pod_routes(req, addrs);
  for (auto r : routes) {
    r.oif = eth->index;
    if (auto s = (*pod)->add_route(r); !s) return fail_with(s, doing);
  }
  sys::fault::crash_point("network.attach-configured");

  auto forwards = forwards_of(req.ports, leases);
  if (!forwards.empty()) {
    if (auto s = host.update_forwards(store, forwards, {}); !s) return fail_with(s, doing + ": publish ports");
  }
  sys::fault::crash_point("network.attach-forwarded");

  a.result = json_dump(result_json(req, *host_if, mac, addrs, routes));
  if (auto s = store.commit_attachment(req.pod, req.index, a.result); !s) return fail_with(s, doing);
  a.state = state::RowState::done;
  return a;
}

Status detach(state::Store& store, HostPlane& host, const state::AttachmentRecord& a,
              std::span<const state::PortMapping> ports) {
  const auto doing = fmt::format("detach network {} ({})", a.network, a.ifname);
  if (!ports.empty()) {
    auto all = store.attachment_leases(a.pod, a.index);
    if (!all) return fail_with(all, doing);
    auto forwards = forwards_of(ports, *all);
    if (!forwards.empty()) {
      if (auto s = host.update_forwards(store, {}, forwards); !s) return fail_with(s, doing);
    }
  }
  return {};
}

}  // namespace podns::network
