// A network's bridge: created on first use (and again after a reboot took it away), addressed
// with the gateways, up; the host sysctls a routed, NATed bridge needs.
#include <fmt/format.h>

#include "podns/network/driver.hpp"
#include "podns/read_file.hpp"
#include "sys/sysctl.hpp"

namespace podns::network {
namespace {

// Set once per network when its bridge is made, read before written (sys::ensure_sysctl).
Status host_sysctls(const Network& net) {
  bool v4 = false;
  for (const auto& r : net.ranges) v4 |= r.subnet.addr.family == AF_INET;
  if (v4) {
    if (auto s = sys::ensure_sysctl("net.ipv4.ip_forward", "1"); !s) return s;
    // Port forwards to 127.0.0.1 DNAT a packet whose source stays 127.0.0.1 until postrouting
    // masquerades it: without route_localnet the kernel drops it as a martian on the bridge.
    if (auto s = sys::ensure_sysctl(fmt::format("net/ipv4/conf/{}/route_localnet", net.bridge), "1"); !s) return s;
  }
  if (net.has_ipv6()) {
    if (auto s = sys::ensure_sysctl("net.ipv6.conf.all.forwarding", "1"); !s) return s;
  }
  return {};
}

}  // namespace

Result<int> ensure_bridge(net::Client& host, const Network& net) {
  const auto doing = fmt::format("network {}: bridge {}", net.name, net.bridge);
  auto link = host.link(net.bridge);
  if (link && link->kind == "bridge" && link->is_up()) return link->index;
  if (link && link->kind != "bridge")
    return fail(Errc::already_exists, doing + ": an interface of that name exists and is not a bridge");
  if (!link && !link.error().is(Errc::not_found)) return fail_with(link, doing);
  int index = link ? link->index : 0;
  if (!link) {
    auto created = host.create_bridge({net.bridge, net.mtu});
    if (created) {
      index = *created;
    } else if (created.error().is(Errc::already_exists)) {
      // Another process made it between our look and our create.
      auto again = host.link(net.bridge);
      if (!again) return fail_with(again, doing);
      index = again->index;
    } else {
      return fail_with(created, doing);
    }
  }
  if (auto s = host_sysctls(net); !s) return fail_with(s, doing);
  for (const auto& r : net.ranges) {
    auto s = host.add_address({index, r.gateway.str(), r.subnet.prefix, true});
    if (!s && !s.error().is(Errc::already_exists)) return fail_with(s, doing + ": gateway address");
  }
  if (auto s = host.set_link({index, true, false}); !s) return fail_with(s, doing + ": up");
  return index;
}

Result<std::string> read_boot_id(const std::string& path) {
  auto id = read_regular_file(path, 128, Errc::corrupt);
  if (!id) return fail_with(id, "read boot id");
  std::string s = *id;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  if (s.empty()) return fail(Errc::corrupt, "read boot id " + path + ": empty");
  return s;
}

}  // namespace podns::network
