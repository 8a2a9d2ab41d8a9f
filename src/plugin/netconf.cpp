// Parsing the podns-bridge network configuration (see netconf.hpp). Every wrong type is an error
// naming the key, never an exception.
#include "plugin/netconf.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include <fmt/format.h>

#include "podns/json_parse.hpp"
#include "podns/names.hpp"

namespace podns::plugin {
namespace {

using nlohmann::json;

// Options of the reference bridge plugin that podns-bridge does not implement: refused when set to
// anything but their default, so a config never silently means less than it says.
struct Unsupported {
  const char* key;
  json default_value;
};
const Unsupported kUnsupported[] = {
    {"promiscMode", false}, {"vlan", 0},   {"vlanTrunk", nullptr}, {"preserveDefaultVlan", true},
    {"macspoofchk", false}, {"enabledad", false}, {"forceAddress", false},
};

std::optional<std::string> str(const json& j, const char* key, std::string& out, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return fmt::format("{}{}: not a string", where, key);
  out = it->get<std::string>();
  return std::nullopt;
}

std::optional<std::string> boolean(const json& j, const char* key, bool& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) return fmt::format("{}: not true or false", key);
  out = it->get<bool>();
  return std::nullopt;
}

CniResultOr<network::IpAddr> ip_of(std::string_view text, std::string_view what) {
  auto ip = network::IpAddr::parse(text);
  if (!ip) return cni_fail(cni::err::kInvalidConfig, fmt::format("{}: \"{}\" is not an IP address", what, text));
  return *ip;
}

// One host-local range object into a subnet of the network.
CniResultOr<network::SubnetOptions> range_of(const json& r, const std::string& where) {
  if (!r.is_object()) return cni_fail(cni::err::kInvalidConfig, where + ": not an object");
  network::SubnetOptions s;
  for (auto [key, into] : {std::pair{"subnet", &s.subnet}, std::pair{"gateway", &s.gateway},
                           std::pair{"rangeStart", &s.range_start}, std::pair{"rangeEnd", &s.range_end}}) {
    if (auto e = str(r, key, *into, where + "."); e) return cni_fail(cni::err::kInvalidConfig, *e);
  }
  if (s.subnet.empty()) return cni_fail(cni::err::kInvalidConfig, where + ": no subnet");
  return s;
}

CniResultOr<std::vector<network::SubnetOptions>> subnets_of(const json& ipam) {
  std::vector<network::SubnetOptions> out;
  auto ranges = ipam.find("ranges");
  if (ranges != ipam.end() && !ranges->is_null()) {
    if (!ranges->is_array()) return cni_fail(cni::err::kInvalidConfig, "ipam.ranges: not a list of range sets");
    for (size_t i = 0; i < ranges->size(); ++i) {
      const json& set = (*ranges)[i];
      const auto where = fmt::format("ipam.ranges[{}]", i);
      if (!set.is_array() || set.empty())
        return cni_fail(cni::err::kInvalidConfig, where + ": not a non-empty list of ranges");
      // host-local takes one address from the first range of a set with room; podns leases one
      // address per subnet of the network, so a set is one range.
      if (set.size() > 1)
        return cni_fail(cni::err::kUnsupportedField,
                        where + ": several ranges in one range set (podns-bridge takes one range per set)");
      auto r = range_of(set[0], where + "[0]");
      if (!r) return std::unexpected(r.error());
      out.push_back(std::move(*r));
    }
  } else if (ipam.contains("subnet")) {
    auto r = range_of(ipam, "ipam");  // the older single-range shape, its keys on ipam itself
    if (!r) return std::unexpected(r.error());
    out.push_back(std::move(*r));
  }
  if (out.empty()) return cni_fail(cni::err::kInvalidConfig, "ipam: no ranges and no subnet: the network needs one");
  return out;
}

CniResultOr<std::vector<network::PodRoute>> routes_of(const json& ipam) {
  std::vector<network::PodRoute> out;
  auto routes = ipam.find("routes");
  if (routes == ipam.end() || routes->is_null()) return out;
  if (!routes->is_array()) return cni_fail(cni::err::kInvalidConfig, "ipam.routes: not a list");
  for (size_t i = 0; i < routes->size(); ++i) {
    const json& r = (*routes)[i];
    const auto where = fmt::format("ipam.routes[{}]", i);
    std::string dst, gw;
    if (!r.is_object()) return cni_fail(cni::err::kInvalidConfig, where + ": not an object");
    if (auto e = str(r, "dst", dst, where + "."); e) return cni_fail(cni::err::kInvalidConfig, *e);
    if (auto e = str(r, "gw", gw, where + "."); e) return cni_fail(cni::err::kInvalidConfig, *e);
    auto cidr = network::Cidr::parse(dst);
    if (!cidr) return cni_fail(cni::err::kInvalidConfig, fmt::format("{}.dst: {}", where, cidr.error().message()));
    network::PodRoute pr{*cidr, std::nullopt};
    if (!gw.empty()) {
      auto g = ip_of(gw, where + ".gw");
      if (!g) return std::unexpected(g.error());
      pr.gw = *g;
    }
    out.push_back(pr);
  }
  return out;
}

CniResultOr<cni::Dns> dns_of(const json& c) {
  cni::Dns d;
  auto it = c.find("dns");
  if (it == c.end() || it->is_null()) return d;
  if (!it->is_object()) return cni_fail(cni::err::kInvalidConfig, "dns: not an object");
  if (auto e = str(*it, "domain", d.domain, "dns."); e) return cni_fail(cni::err::kInvalidConfig, *e);
  for (auto [key, into] : {std::pair{"nameservers", &d.nameservers}, std::pair{"search", &d.search},
                           std::pair{"options", &d.options}}) {
    auto l = it->find(key);
    if (l == it->end() || l->is_null()) continue;
    if (!l->is_array()) return cni_fail(cni::err::kInvalidConfig, fmt::format("dns.{}: not a list", key));
    for (const auto& v : *l) {
      if (!v.is_string()) return cni_fail(cni::err::kInvalidConfig, fmt::format("dns.{}: not a list of strings", key));
      into->push_back(v.get<std::string>());
    }
  }
  return d;
}

}  // namespace

CniResultOr<CommonConf> parse_common(std::string_view stdin_text) {
  auto parsed = parse_json(stdin_text, {.max_bytes = 1u << 20, .error = Errc::invalid_argument});
  if (!parsed) return cni_fail(cni::err::kDecodeFailure, "network configuration: " + parsed.error().message());
  if (!parsed->is_object()) return cni_fail(cni::err::kDecodeFailure, "network configuration: not a JSON object");
  CommonConf c;
  c.raw = std::move(*parsed);
  const json& j = c.raw;
  if (auto e = str(j, "cniVersion", c.cni_version, ""); e) return cni_fail(cni::err::kInvalidConfig, *e);
  if (c.cni_version.empty()) return cni_fail(cni::err::kIncompatibleVersion, "network configuration: no cniVersion");
  if (!cni::version_supported(c.cni_version))
    return cni_fail(cni::err::kIncompatibleVersion,
                    fmt::format("cniVersion {} is not supported (podns-bridge speaks 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0)",
                                c.cni_version));
  if (auto e = str(j, "name", c.name, ""); e) return cni_fail(cni::err::kInvalidConfig, *e);
  if (auto s = validate_name(c.name); !s)
    return cni_fail(cni::err::kInvalidConfig, "network name: " + s.error().message());
  for (auto [key, into] : {std::pair{"podnsStateDir", &c.state_dir}, std::pair{"podnsRunDir", &c.run_dir},
                           std::pair{"podnsNftTable", &c.nft_table}}) {
    if (auto e = str(j, key, *into, ""); e) return cni_fail(cni::err::kInvalidConfig, *e);
    if (!into->empty() && into != &c.nft_table && (*into)[0] != '/')
      return cni_fail(cni::err::kInvalidConfig, fmt::format("{}: \"{}\" is not an absolute path", key, *into));
  }
  if (auto t = j.find("podnsLockTimeout"); t != j.end() && !t->is_null()) {
    if (!t->is_number() || !std::isfinite(t->get<double>()) || t->get<double>() < 0 || t->get<double>() > 3600)
      return cni_fail(cni::err::kInvalidConfig, "podnsLockTimeout: not a number of seconds (0-3600)");
    c.lock_timeout = std::chrono::milliseconds(static_cast<long long>(t->get<double>() * 1000));
  }
  if (auto p = j.find("prevResult"); p != j.end() && !p->is_null()) {
    if (!p->is_object()) return cni_fail(cni::err::kInvalidConfig, "prevResult: not an object");
    c.prev_result = *p;
  }
  return c;
}

CniResultOr<NetworkConf> parse_network(const CommonConf& c) {
  const json& j = c.raw;
  NetworkConf n;
  n.network.name = c.name;
  n.network.bridge = "cni0";  // the bridge plugin's default
  if (auto e = str(j, "bridge", n.network.bridge, ""); e) return cni_fail(cni::err::kInvalidConfig, *e);
  if (auto s = validate_ifname(n.network.bridge); !s)
    return cni_fail(cni::err::kInvalidConfig, "bridge: " + s.error().message());
  bool is_gateway = true, masq = false, hairpin = true;
  for (auto [key, into] : {std::pair{"isGateway", &is_gateway}, std::pair{"isDefaultGateway", &n.default_route},
                           std::pair{"ipMasq", &masq}, std::pair{"hairpinMode", &hairpin}}) {
    if (auto e = boolean(j, key, *into); e) return cni_fail(cni::err::kInvalidConfig, *e);
  }
  // The bridge always holds the gateways: masquerade, forwards and the pods' routes go through it.
  if (!is_gateway)
    return cni_fail(cni::err::kUnsupportedField,
                    "isGateway false: a podns-bridge bridge always holds the gateway addresses");
  n.network.masquerade = masq;
  // hairpinMode: the driver always turns hairpin on (a pod reaching its own published port needs
  // it where br_netfilter runs); false is accepted and means no less.
  for (const auto& u : kUnsupported) {
    auto it = j.find(u.key);
    if (it != j.end() && !it->is_null() && *it != u.default_value)
      return cni_fail(cni::err::kUnsupportedField, fmt::format("{}: not supported by podns-bridge", u.key));
  }
  if (auto m = j.find("mtu"); m != j.end() && !m->is_null()) {
    if (!m->is_number_integer() || m->get<long long>() < 0 || m->get<long long>() > 65535)
      return cni_fail(cni::err::kInvalidConfig, "mtu: not a number of bytes");
    n.network.mtu = static_cast<std::uint32_t>(m->get<long long>());
  }
  auto ipam = j.find("ipam");
  if (ipam == j.end() || !ipam->is_object())
    return cni_fail(cni::err::kInvalidConfig, "ipam: missing (host-local's ranges or subnet define the network)");
  std::string type;
  if (auto e = str(*ipam, "type", type, "ipam."); e) return cni_fail(cni::err::kInvalidConfig, *e);
  if (!type.empty() && type != "host-local")
    return cni_fail(cni::err::kUnsupportedField,
                    fmt::format("ipam type {}: podns-bridge allocates addresses itself (host-local's shape only)", type));
  auto subnets = subnets_of(*ipam);
  if (!subnets) return std::unexpected(subnets.error());
  n.network.subnets = std::move(*subnets);
  auto routes = routes_of(*ipam);
  if (!routes) return std::unexpected(routes.error());
  n.routes = std::move(*routes);
  auto dns = dns_of(j);
  if (!dns) return std::unexpected(dns.error());
  n.dns = std::move(*dns);
  // The definition itself (subnets, gateways, ranges, MTU), checked as `network create` checks it.
  if (auto made = network::make_network(n.network, {}, {}); !made)
    return cni_fail(cni::err::kInvalidConfig, made.error().message());
  return n;
}

CniResultOr<Requests> parse_requests(const CommonConf& c,
                                     const std::vector<std::pair<std::string, std::string>>& cni_args) {
  Requests r;
  auto add_ip = [&](std::string_view text, std::string_view what) -> CniResultOr<bool> {
    // "10.1.2.3/24" (the ips capability's CIDR form) or a bare address.
    auto ip = ip_of(text.substr(0, text.find('/')), what);
    if (!ip) return std::unexpected(ip.error());
    if (std::find(r.ips.begin(), r.ips.end(), *ip) == r.ips.end()) r.ips.push_back(*ip);
    return true;
  };
  auto rc = c.raw.find("runtimeConfig");
  if (rc != c.raw.end() && !rc->is_null()) {
    if (!rc->is_object()) return cni_fail(cni::err::kInvalidConfig, "runtimeConfig: not an object");
    if (auto pm = rc->find("portMappings"); pm != rc->end() && !pm->is_null()) {
      if (!pm->is_array()) return cni_fail(cni::err::kInvalidConfig, "runtimeConfig.portMappings: not a list");
      for (size_t i = 0; i < pm->size(); ++i) {
        const json& m = (*pm)[i];
        const auto where = fmt::format("runtimeConfig.portMappings[{}]", i);
        if (!m.is_object()) return cni_fail(cni::err::kInvalidConfig, where + ": not an object");
        pod::PortSpec p;
        for (auto [key, into] : {std::pair{"hostPort", &p.host_port}, std::pair{"containerPort", &p.container_port}}) {
          auto v = m.find(key);
          if (v == m.end() || !v->is_number_integer() || v->get<long long>() < 1 || v->get<long long>() > 65535)
            return cni_fail(cni::err::kInvalidConfig, fmt::format("{}.{}: not a port (1-65535)", where, key));
          *into = static_cast<int>(v->get<long long>());
        }
        std::string proto = "tcp", host_ip;
        if (auto e = str(m, "protocol", proto, where + "."); e) return cni_fail(cni::err::kInvalidConfig, *e);
        if (auto e = str(m, "hostIP", host_ip, where + "."); e) return cni_fail(cni::err::kInvalidConfig, *e);
        std::transform(proto.begin(), proto.end(), proto.begin(), [](unsigned char ch) { return std::tolower(ch); });
        if (proto.empty()) proto = "tcp";
        if (proto != "tcp" && proto != "udp" && proto != "sctp")
          return cni_fail(cni::err::kInvalidConfig, fmt::format("{}.protocol: \"{}\" is not tcp, udp or sctp", where, proto));
        // portmap's "all addresses" spellings; podns says it with no address.
        if (host_ip == "0.0.0.0" || host_ip == "::") host_ip.clear();
        if (!host_ip.empty()) {
          auto h = ip_of(host_ip, where + ".hostIP");
          if (!h) return std::unexpected(h.error());
          host_ip = h->str();
        }
        p.protocol = proto;
        p.host_ip = host_ip;
        // The same mapping twice (a runtime listing it per address family) is one forward.
        if (std::find(r.ports.begin(), r.ports.end(), p) == r.ports.end()) r.ports.push_back(p);
      }
    }
    if (auto ips = rc->find("ips"); ips != rc->end() && !ips->is_null()) {
      if (!ips->is_array()) return cni_fail(cni::err::kInvalidConfig, "runtimeConfig.ips: not a list");
      for (const auto& v : *ips) {
        if (!v.is_string()) return cni_fail(cni::err::kInvalidConfig, "runtimeConfig.ips: not a list of strings");
        if (auto ok = add_ip(v.get<std::string>(), "runtimeConfig.ips"); !ok) return std::unexpected(ok.error());
      }
    }
    if (auto e = str(*rc, "mac", r.mac, "runtimeConfig."); e) return cni_fail(cni::err::kInvalidConfig, *e);
  }
  for (const auto& [k, v] : cni_args) {
    if (k == "IP") {
      // host-local's CNI_ARGS IP=: one address, or several separated by commas.
      std::string_view rest = v;
      while (!rest.empty()) {
        auto comma = rest.find(',');
        if (auto ok = add_ip(rest.substr(0, comma), "CNI_ARGS IP"); !ok) return std::unexpected(ok.error());
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    } else if (k == "MAC" && r.mac.empty()) {
      r.mac = v;
    }
  }
  if (!r.mac.empty()) {
    bool ok = r.mac.size() == 17;
    for (size_t i = 0; ok && i < r.mac.size(); ++i)
      ok = i % 3 == 2 ? r.mac[i] == ':' : std::isxdigit(static_cast<unsigned char>(r.mac[i])) != 0;
    // Bit 0 of the first octet marks a multicast address, which no interface may have.
    if (ok) ok = (std::stoi(r.mac.substr(0, 2), nullptr, 16) & 1) == 0;
    if (!ok) return cni_fail(cni::err::kInvalidConfig, fmt::format("mac \"{}\" is not a unicast MAC address", r.mac));
    std::transform(r.mac.begin(), r.mac.end(), r.mac.begin(), [](unsigned char ch) { return std::tolower(ch); });
  }
  return r;
}

CniResultOr<std::vector<pod::PluginKey>> parse_valid_attachments(const CommonConf& c) {
  std::vector<pod::PluginKey> out;
  auto it = c.raw.find("cni.dev/valid-attachments");
  if (it == c.raw.end() || it->is_null()) it = c.raw.find("cni.dev/attachments");
  // Required for GC: a request without the list must never read as "nothing is valid".
  if (it == c.raw.end() || it->is_null())
    return cni_fail(cni::err::kInvalidConfig, "GC without cni.dev/valid-attachments");
  if (!it->is_array()) return cni_fail(cni::err::kInvalidConfig, "cni.dev/valid-attachments: not a list");
  for (const auto& a : *it) {
    pod::PluginKey k{c.name, "", ""};
    if (!a.is_object()) return cni_fail(cni::err::kInvalidConfig, "cni.dev/valid-attachments: not a list of objects");
    if (auto e = str(a, "containerID", k.container_id, "cni.dev/valid-attachments: "); e)
      return cni_fail(cni::err::kInvalidConfig, *e);
    if (auto e = str(a, "ifname", k.ifname, "cni.dev/valid-attachments: "); e)
      return cni_fail(cni::err::kInvalidConfig, *e);
    out.push_back(std::move(k));
  }
  return out;
}

}  // namespace podns::plugin
