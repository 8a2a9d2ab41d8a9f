// Network definitions: validation and completion of `podns network create`, and the stored JSON.
#include "podns/network/network.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "podns/names.hpp"
#include "podns/json_dump.hpp"
#include "podns/json_parse.hpp"
#include "podns/json_integer.hpp"

namespace podns::network {
namespace {

// Networks created without --subnet get the first free /24 of 10.90.0.0/15.. (the default network
// has 10.89.0.0/16) and, dual stack, the first free /64 of fd89::/48.
constexpr int kAutoSubnets = 4096;

Result<Cidr> auto_subnet(int family, int n) {
  if (family == AF_INET) return Cidr::parse(fmt::format("10.{}.{}.0/24", 90 + n / 256, n % 256));
  return Cidr::parse(fmt::format("fd89:0:0:{:x}::/64", n));
}

bool overlaps_any(const Cidr& c, std::span<const Network> nets, std::span<const IpRange> own) {
  for (const auto& n : nets)
    for (const auto& r : n.ranges)
      if (r.subnet.overlaps(c)) return true;
  for (const auto& r : own)
    if (r.subnet.overlaps(c)) return true;
  return false;
}

Result<IpRange> range_from(const SubnetOptions& s) {
  auto subnet = Cidr::parse(s.subnet);
  if (!subnet) return fail_with(subnet, "subnet");
  std::optional<IpAddr> gw;
  if (!s.gateway.empty()) {
    auto g = IpAddr::parse(s.gateway);
    if (!g) return fail_with(g, "gateway");
    gw = *g;
  }
  std::optional<Cidr> range;
  if (!s.ip_range.empty()) {
    auto r = Cidr::parse(s.ip_range);
    if (!r) return fail_with(r, "ip range");
    range = *r;
  }
  auto r = IpRange::make(*subnet, gw, range);
  if (!r) return r;
  // host-local's rangeStart/rangeEnd narrow the range further.
  auto bound = [&](const std::string& text, const char* what, IpAddr& into) -> Status {
    if (text.empty()) return {};
    auto a = IpAddr::parse(text);
    if (!a) return fail_with(a, what);
    if (!r->subnet.contains(*a))
      return fail(Errc::invalid_argument,
                  fmt::format("subnet {}: {} {} is outside the subnet", r->subnet.str(), what, a->str()));
    into = *a;
    return {};
  };
  if (auto st = bound(s.range_start, "range start", r->start); !st) return fail(st.error());
  if (auto st = bound(s.range_end, "range end", r->end); !st) return fail(st.error());
  if (r->start > r->end || (r->start == r->end && r->start == r->gateway))
    return fail(Errc::invalid_argument, fmt::format("subnet {}: range {}-{} has no address to hand out",
                                                    r->subnet.str(), r->start.str(), r->end.str()));
  return r;
}

}  // namespace

bool Network::has_ipv6() const {
  return std::any_of(ranges.begin(), ranges.end(), [](const IpRange& r) { return r.subnet.addr.family == AF_INET6; });
}

bool Network::same_definition(const Network& o) const {
  return bridge == o.bridge && ranges == o.ranges && internal == o.internal && masquerade == o.masquerade &&
         mtu == o.mtu;
}

bool Network::contains(const IpAddr& ip) const {
  return std::any_of(ranges.begin(), ranges.end(), [&](const IpRange& r) { return r.subnet.contains(ip); });
}

nlohmann::json Network::options_json() const {
  nlohmann::json subnets = nlohmann::json::array();
  for (const auto& r : ranges) {
    subnets.push_back({{"subnet", r.subnet.str()},
                       {"gateway", r.gateway.str()},
                       {"rangeStart", r.start.str()},
                       {"rangeEnd", r.end.str()}});
  }
  nlohmann::json j = {{"subnets", std::move(subnets)}, {"internal", internal}, {"mtu", mtu}};
  // Written only when off: definitions stored before the flag existed all masquerade.
  if (!masquerade) j["masquerade"] = false;
  return j;
}

state::NetworkRecord Network::record() const {
  return {name, "bridge", bridge, json_dump(options_json()), created_at};
}

Result<Network> Network::from_record(const state::NetworkRecord& rec) {
  const auto doing = fmt::format("network {}: stored definition", rec.name);
  auto parsed = parse_json(rec.options);
  if (!parsed) return fail_with(parsed, doing);
  const nlohmann::json& j = *parsed;
  if (!j.is_object() || !j.contains("subnets") || !j["subnets"].is_array())
    return fail(Errc::corrupt, doing + ": not a network definition");
  Network n;
  n.name = rec.name;
  n.bridge = rec.bridge;
  n.created_at = rec.created_at;
  // Not value(): it throws on a type that does not match, and a stored row is not to be trusted.
  if (auto it = j.find("internal"); it != j.end()) {
    if (!it->is_boolean()) return fail(Errc::corrupt, doing + ": internal is not true or false");
    n.internal = it->get<bool>();
  }
  if (auto it = j.find("masquerade"); it != j.end()) {
    if (!it->is_boolean()) return fail(Errc::corrupt, doing + ": masquerade is not true or false");
    n.masquerade = it->get<bool>();
  }
  if (auto it = j.find("mtu"); it != j.end()) {
    auto mtu = json_integer<std::uint32_t>(*it);
    if (!mtu) return fail(Errc::corrupt, doing + ": mtu is not a 32-bit unsigned number");
    n.mtu = *mtu;
  }
  for (const auto& s : j["subnets"]) {
    if (!s.is_object()) return fail(Errc::corrupt, doing + ": a subnet is not an object");
    auto text = [&](const char* key) { return s.contains(key) && s[key].is_string() ? s[key].get<std::string>() : ""; };
    auto subnet = Cidr::parse(text("subnet"));
    auto gw = IpAddr::parse(text("gateway"));
    auto start = IpAddr::parse(text("rangeStart"));
    auto end = IpAddr::parse(text("rangeEnd"));
    if (!subnet || !gw || !start || !end) return fail(Errc::corrupt, doing + ": a subnet does not parse");
    n.ranges.push_back({*subnet, *start, *end, *gw});
  }
  if (n.ranges.empty()) return fail(Errc::corrupt, doing + ": no subnet");
  return n;
}

Result<Network> make_network(const NetworkOptions& o, std::span<const Network> existing,
                             std::span<const std::string> taken_bridges) {
  const auto doing = fmt::format("network {}", o.name);
  if (auto s = validate_name(o.name); !s) return fail_with(s, "network");
  for (const auto& n : existing)
    if (n.name == o.name) return fail(Errc::already_exists, doing + ": exists");
  Network n;
  n.name = o.name;
  n.internal = o.internal;
  n.masquerade = o.masquerade;
  if (o.mtu != 0 && (o.mtu < 68 || o.mtu > 65535))
    return fail(Errc::invalid_argument, fmt::format("{}: mtu {}: want 68-65535", doing, o.mtu));
  n.mtu = o.mtu;

  for (const auto& s : o.subnets) {
    auto r = range_from(s);
    if (!r) return fail_with(r, doing);
    if (overlaps_any(r->subnet, existing, n.ranges)) {
      std::string with;
      for (const auto& e : existing)
        for (const auto& er : e.ranges)
          if (er.subnet.overlaps(r->subnet)) with = fmt::format("network {} ({})", e.name, er.subnet.str());
      if (with.empty()) with = "another subnet of this network";
      return fail(Errc::invalid_argument, fmt::format("{}: subnet {} overlaps {}", doing, r->subnet.str(), with));
    }
    n.ranges.push_back(*r);
  }
  auto has_family = [&](int f) {
    return std::any_of(n.ranges.begin(), n.ranges.end(), [f](const IpRange& r) { return r.subnet.addr.family == f; });
  };
  auto add_auto = [&](int family) -> Status {
    for (int i = 0; i < kAutoSubnets; ++i) {
      auto c = auto_subnet(family, i);
      if (!c) return fail(c.error());
      if (overlaps_any(*c, existing, n.ranges)) continue;
      auto r = IpRange::make(*c);
      if (!r) return fail(r.error());
      n.ranges.push_back(*r);
      return {};
    }
    return fail(Errc::invalid_argument, doing + ": no free subnet left to pick; give --subnet");
  };
  if (o.subnets.empty())
    if (auto s = add_auto(AF_INET); !s) return fail(s.error());
  if (o.ipv6 && !has_family(AF_INET6))
    if (auto s = add_auto(AF_INET6); !s) return fail(s.error());
  std::stable_sort(n.ranges.begin(), n.ranges.end(),
                   [](const IpRange& a, const IpRange& b) { return a.subnet.addr.family < b.subnet.addr.family; });

  auto bridge_taken = [&](const std::string& b) {
    return std::any_of(existing.begin(), existing.end(), [&](const Network& e) { return e.bridge == b; }) ||
           std::find(taken_bridges.begin(), taken_bridges.end(), b) != taken_bridges.end();
  };
  if (!o.bridge.empty()) {
    if (auto s = validate_ifname(o.bridge); !s) return fail_with(s, doing + ": bridge");
    for (const auto& e : existing)
      if (e.bridge == o.bridge)
        return fail(Errc::already_exists, fmt::format("{}: bridge {} belongs to network {}", doing, o.bridge, e.name));
    if (bridge_taken(o.bridge))
      return fail(Errc::already_exists,
                  fmt::format("{}: bridge {}: an interface of that name exists and is not a podns network's", doing,
                              o.bridge));
    n.bridge = o.bridge;
  } else {
    for (int i = 0; i < 1000 && n.bridge.empty(); ++i) {
      auto b = fmt::format("podns{}", i);
      if (!bridge_taken(b)) n.bridge = b;
    }
    if (n.bridge.empty()) return fail(Errc::invalid_argument, doing + ": no free bridge name; give --bridge");
  }
  return n;
}

nlohmann::json to_json(const Network& n) {
  nlohmann::json j = n.options_json();
  j["name"] = n.name;
  j["driver"] = "bridge";
  j["bridge"] = n.bridge;
  j["ipv6"] = n.has_ipv6();
  j["created"] = n.created_at;
  return j;
}

}  // namespace podns::network
