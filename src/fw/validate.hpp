// Input checks for the firewall, done before any kernel call: table names, IP addresses, subnets,
// bridges, forwards. The checked forms carry parsed bytes, so the text writer and the element
// encoder never parse again. Bad input is Errc::invalid_argument (Errc::invalid_name for a table
// name) naming the field.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fw/layout.hpp"
#include "podns/error.hpp"
#include "podns/fw/firewall.hpp"

namespace podns::fw {

// An nft table name: a letter, then letters, digits, '_', '-' or '.'; at most 63 bytes; not one of
// nft's keywords (nft cannot quote a table name, so `table inet counter` is a syntax error).
inline constexpr std::size_t kMaxTableName = 63;
[[nodiscard]] Status validate_table_name(std::string_view name);

struct IpAddress {
  int family = AF_INET;                  // AF_INET or AF_INET6
  std::array<std::uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4
  std::size_t size() const { return family == AF_INET ? 4 : 16; }
  std::string str() const;               // canonical (inet_ntop)
};
// inet_pton, IPv4 or IPv6; `field` names the input in the error.
[[nodiscard]] Result<IpAddress> parse_ip(std::string_view text, std::string_view field);

struct Subnet {
  IpAddress addr;  // the network address (host bits zero)
  unsigned prefix = 0;
  std::string str() const;  // "10.89.0.0/24", canonical
};
// "10.89.0.0/24", "fd00::/64". Host bits set is an error (say which network is meant).
[[nodiscard]] Result<Subnet> parse_subnet(std::string_view text, std::string_view field);

struct CheckedNetwork {
  const NetworkRules* rules = nullptr;
  std::vector<Subnet> v4, v6;
};
// Names (validate_name), bridges (validate_ifname, and only letters, digits, '_', '-', '.' so the
// name is never an nft wildcard or a broken quote), subnets; no bridge or name used twice.
[[nodiscard]] Result<std::vector<CheckedNetwork>> check_networks(std::span<const NetworkRules> networks);

struct CheckedForward {
  const layout::MapInfo* map = nullptr;  // the map the element goes to
  const layout::ProtoInfo* proto = nullptr;
  IpAddress host;  // meaningful when map->bound
  std::uint16_t host_port = 0;
  IpAddress pod;
  std::uint16_t pod_port = 0;
};
// One forward: addresses parse, host and pod of one family, ports non-zero, protocol known.
// "0.0.0.0" and "::" are refused: "" is the spelling of "every local address".
[[nodiscard]] Result<CheckedForward> check_forward(const PortForward& f, std::string_view field);

// Every forward of `list` ("forwards", "add", "remove" in errors). With `unique_keys`, two
// forwards with the same map key (protocol, host address, host port) are an error; without, the
// later duplicates are dropped (removing twice is removing once).
[[nodiscard]] Result<std::vector<CheckedForward>> check_forwards(std::span<const PortForward> list,
                                                                 std::string_view field, bool unique_keys);

// "tcp 127.0.0.1:8080 -> 10.89.0.2:80", "udp *:53 -> [fd00::2]:53": forwards in messages.
std::string describe(const CheckedForward& f);
std::string describe(const PortForward& f);

}  // namespace podns::fw
