// Fuzz native network definitions: `podns network create` options (make_network) and the stored
// definition read back from the state (Network::from_record).
// The input is read both ways: as a stored definition (JSON), and as options, one per line:
//   name NAME | bridge IFNAME | ipv6 | internal | nomasquerade | mtu N | subnet CIDR [GATEWAY [IP-RANGE]]
// made against one existing network (10.89.0.0/16 + fd89::/64 on podns0) and a taken interface.
// Invariants: a made network keeps every promise of make_network (valid names, subnets inside
// their families, gateways and ranges inside their subnets, no overlap with each other or the
// existing network, IPv4 first); any definition read back writes out and reads back equal.
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "podns/names.hpp"
#include "podns/network/network.hpp"

namespace {

namespace net = podns::network;

bool same(const net::Network& a, const net::Network& b) {
  if (a.name != b.name || a.bridge != b.bridge || a.internal != b.internal || a.masquerade != b.masquerade ||
      a.mtu != b.mtu ||
      a.created_at != b.created_at || a.ranges.size() != b.ranges.size())
    return false;
  for (size_t i = 0; i < a.ranges.size(); ++i) {
    const auto &x = a.ranges[i], &y = b.ranges[i];
    if (!(x.subnet == y.subnet) || x.start != y.start || x.end != y.end || x.gateway != y.gateway) return false;
  }
  return true;
}

void check_round_trip(const net::Network& n) {
  auto again = net::Network::from_record(n.record());
  FUZZ_CHECK(again && same(*again, n));
}

void check_stored(std::string_view text) {
  podns::state::NetworkRecord rec{"fz", "bridge", "podns9", std::string(text), 1700000000};
  auto n = net::Network::from_record(rec);
  if (!n) {
    FUZZ_CHECK(n.error().is(podns::Errc::corrupt));
    return;
  }
  FUZZ_CHECK(!n->ranges.empty());
  check_round_trip(*n);
}

net::NetworkOptions options_from(std::string_view text) {
  net::NetworkOptions o;
  size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    std::vector<std::string_view> w;
    for (size_t p = 0; p <= line.size();) {
      auto sp = line.find(' ', p);
      w.push_back(line.substr(p, sp == std::string_view::npos ? std::string_view::npos : sp - p));
      if (sp == std::string_view::npos) break;
      p = sp + 1;
    }
    auto arg = [&](size_t i) { return std::string(i < w.size() ? w[i] : std::string_view{}); };
    if (w[0] == "name") o.name = arg(1);
    else if (w[0] == "bridge") o.bridge = arg(1);
    else if (w[0] == "ipv6") o.ipv6 = true;
    else if (w[0] == "internal") o.internal = true;
    else if (w[0] == "nomasquerade") o.masquerade = false;
    else if (w[0] == "mtu") {
      auto m = arg(1);
      std::from_chars(m.data(), m.data() + m.size(), o.mtu);
    } else if (w[0] == "subnet") o.subnets.push_back({arg(1), arg(2), arg(3)});
  }
  return o;
}

void check_made(std::string_view text) {
  static const net::Network existing = [] {
    auto n = net::make_network({.name = "podns",
                                .subnets = {{"10.89.0.0/16", "", ""}, {"fd89::/64", "", ""}},
                                .ipv6 = true,
                                .bridge = "podns0"},
                               {}, {});
    FUZZ_CHECK(n);
    return *n;
  }();
  static const std::vector<std::string> taken = {"eth0", "podns1"};
  auto o = options_from(text);
  auto n = net::make_network(o, {&existing, 1}, taken);
  if (!n) {
    FUZZ_CHECK(n.error().is(podns::Errc::invalid_argument) || n.error().is(podns::Errc::invalid_name) ||
               n.error().is(podns::Errc::already_exists));
    return;
  }
  FUZZ_CHECK(n->name == o.name && podns::validate_name(n->name));
  FUZZ_CHECK(podns::validate_ifname(n->bridge) && n->bridge != "podns0" && n->bridge != "eth0" && n->bridge != "podns1");
  FUZZ_CHECK(n->mtu == 0 || (n->mtu >= 68 && n->mtu <= 65535));
  FUZZ_CHECK(!n->ranges.empty());
  if (o.ipv6) FUZZ_CHECK(n->has_ipv6());
  for (size_t i = 0; i < n->ranges.size(); ++i) {
    const auto& r = n->ranges[i];
    FUZZ_CHECK(r.subnet.contains(r.start) && r.subnet.contains(r.end) && r.subnet.contains(r.gateway));
    FUZZ_CHECK(r.start <= r.end && r.gateway != r.subnet.first());
    if (i > 0) FUZZ_CHECK(n->ranges[i - 1].subnet.addr.family <= r.subnet.addr.family);
    for (size_t j = 0; j < i; ++j) FUZZ_CHECK(!r.subnet.overlaps(n->ranges[j].subnet));
    for (const auto& e : existing.ranges) FUZZ_CHECK(!r.subnet.overlaps(e.subnet));
  }
  check_round_trip(*n);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = podns::fuzz::as_text(data, size);
  check_stored(text);
  check_made(text);
  return 0;
}
