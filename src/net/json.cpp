#include "podns/net/json.hpp"

#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <array>
#include <utility>

#include <nlohmann/json.hpp>

namespace podns::net {
namespace {

// net/if.h lacks the RFC 2863 bits that linux/if.h has; the values are ABI.
constexpr std::uint32_t kIffLowerUp = 1u << 16;
constexpr std::uint32_t kIffDormant = 1u << 17;
constexpr std::uint32_t kIffEcho = 1u << 18;

constexpr std::array<std::pair<std::uint32_t, const char*>, 14> kLinkFlags{{
    {IFF_UP, "UP"}, {IFF_BROADCAST, "BROADCAST"}, {IFF_DEBUG, "DEBUG"}, {IFF_LOOPBACK, "LOOPBACK"},
    {IFF_POINTOPOINT, "POINTOPOINT"}, {IFF_NOARP, "NOARP"}, {IFF_PROMISC, "PROMISC"},
    {IFF_ALLMULTI, "ALLMULTI"}, {IFF_MASTER, "MASTER"}, {IFF_SLAVE, "SLAVE"}, {IFF_MULTICAST, "MULTICAST"},
    {kIffLowerUp, "LOWER_UP"}, {kIffDormant, "DORMANT"}, {kIffEcho, "ECHO"},
}};

nlohmann::json direction(std::uint64_t bytes, std::uint64_t packets, std::uint64_t errors, std::uint64_t dropped) {
  return {{"bytes", bytes}, {"packets", packets}, {"errors", errors}, {"dropped", dropped}};
}

}  // namespace

std::vector<std::string> link_flag_names(std::uint32_t flags) {
  std::vector<std::string> out;
  for (const auto& [bit, name] : kLinkFlags)
    if (flags & bit) out.emplace_back(name);
  return out;
}

std::string family_name(int family) {
  if (family == AF_INET) return "inet";
  if (family == AF_INET6) return "inet6";
  return std::to_string(family);
}

std::string scope_name(std::uint8_t scope) {
  switch (scope) {
    case RT_SCOPE_UNIVERSE: return "global";
    case RT_SCOPE_SITE: return "site";
    case RT_SCOPE_LINK: return "link";
    case RT_SCOPE_HOST: return "host";
    case RT_SCOPE_NOWHERE: return "nowhere";
  }
  return std::to_string(scope);
}

void to_json(nlohmann::json& j, const LinkStats& s) {
  j = {{"rx", direction(s.rx_bytes, s.rx_packets, s.rx_errors, s.rx_dropped)},
       {"tx", direction(s.tx_bytes, s.tx_packets, s.tx_errors, s.tx_dropped)}};
}

void to_json(nlohmann::json& j, const Link& l) {
  j = {{"ifindex", l.index}, {"ifname", l.name}, {"kind", l.kind},        {"mac", l.mac},
       {"mtu", l.mtu},       {"flags", link_flag_names(l.flags)},          {"operstate", to_string(l.operstate)},
       {"master", l.master}};
  if (l.link) j["link_index"] = l.link;
  if (l.link_netnsid >= 0) j["link_netnsid"] = l.link_netnsid;
  if (l.stats) j["stats64"] = *l.stats;
}

void to_json(nlohmann::json& j, const Address& a) {
  j = {{"ifindex", a.index},       {"family", family_name(a.family)}, {"local", a.address},
       {"prefixlen", a.prefix_len}, {"cidr", a.cidr()},               {"scope", scope_name(a.scope)}};
  if (!a.label.empty()) j["label"] = a.label;
}

void to_json(nlohmann::json& j, const Route& r) {
  j = {{"family", family_name(r.family)}, {"dst", r.destination()}, {"oif", r.oif},
       {"table", r.table},                {"metric", r.priority},   {"protocol", r.protocol},
       {"scope", scope_name(r.scope)}};
  if (!r.gateway.empty()) j["gateway"] = r.gateway;
  if (!r.prefsrc.empty()) j["prefsrc"] = r.prefsrc;
}

void to_json(nlohmann::json& j, const InterfaceStats& s) {
  j = {{"ifindex", s.index}, {"ifname", s.ifname}, {"kind", s.kind}, {"operstate", to_string(s.operstate)},
       {"stats64", s.stats}};
}

void to_json(nlohmann::json& j, const InterfaceState& s) {
  to_json(j, s.link);
  j["addresses"] = s.addresses;
}

}  // namespace podns::net
