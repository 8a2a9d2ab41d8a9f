// JSON forms of the net value types, for every `--json` output that shows them. Field names follow
// `ip -j` where it has one (ifname, mtu, operstate, prefixlen, gateway, metric), and the counters
// use the shape of `ip -s -j link`'s "stats64": {"rx": {...}, "tx": {...}}.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "podns/net/interfaces.hpp"
#include "podns/net/stats.hpp"
#include "podns/net/types.hpp"

namespace podns::net {

void to_json(nlohmann::json& j, const LinkStats& s);
void to_json(nlohmann::json& j, const Link& l);
void to_json(nlohmann::json& j, const Address& a);
void to_json(nlohmann::json& j, const Route& r);
void to_json(nlohmann::json& j, const InterfaceStats& s);
void to_json(nlohmann::json& j, const InterfaceState& s);

// IFF_* flag names as `ip link` prints them ("UP", "LOWER_UP", ...), in bit order.
std::vector<std::string> link_flag_names(std::uint32_t flags);
// "inet" / "inet6" / the number.
std::string family_name(int family);
// "global", "link", "host", "site", "nowhere" or the number, as `ip` prints scopes.
std::string scope_name(std::uint8_t scope);

}  // namespace podns::net
