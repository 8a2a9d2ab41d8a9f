// The shape of podns's nf_tables table in one place: chain names, the four forward maps (their nft
// type, the DNAT rule that reads them, and the kernel's key/data lengths), the bridges set, and the
// protocols a forward may use. ruleset_text() writes from these tables, update() encodes against
// them and installed() checks the kernel's table against them.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "podns/fw/firewall.hpp"

namespace podns::fw::layout {

// `set bridges { type ifname }`: every podns bridge; the rules that need "any podns bridge" use it.
inline constexpr std::string_view kBridgesSet = "bridges";
inline constexpr std::uint32_t kIfnameLen = 16;  // IFNAMSIZ: an ifname set key

// The regular chain the nat base chains jump to for local destination addresses.
inline constexpr std::string_view kDnatChain = "hostports";

struct ChainInfo {
  std::string_view name;
  bool base;  // a base chain (hooked) or a regular one (jumped to)
};
inline constexpr std::array<ChainInfo, 5> kChains{{
    {"prerouting", true},
    {"output", true},
    {"postrouting", true},
    {"forward", true},
    {kDnatChain, false},
}};

// A forward map: keyed by protocol and host port, plus the host address for a bound forward.
// Concatenated keys and data are laid out in 32-bit registers: every field starts on a 4-byte
// boundary, padding zero (an IPv4 address 4 bytes, inet_proto 1 + 3, inet_service 2 big-endian + 2,
// an IPv6 address 16).
struct MapInfo {
  std::string_view name;
  int family;  // AF_INET or AF_INET6: the family of the pod (and host) address
  bool bound;  // keyed by host address too (a forward bound to one address)
  std::string_view type;       // the nft `type` line
  std::string_view dnat_rule;  // the rule in kDnatChain that looks the map up
  std::uint32_t key_len;
  std::uint32_t data_len;
};
inline constexpr std::array<MapInfo, 4> kMaps{{
    // Bound forwards first: a forward on one address wins over one on every address.
    {"fwd4_ip", AF_INET, true, "ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service",
     "meta nfproto ipv4 dnat ip to ip daddr . meta l4proto . th dport map @fwd4_ip", 4 + 4 + 4, 4 + 4},
    {"fwd4_any", AF_INET, false, "inet_proto . inet_service : ipv4_addr . inet_service",
     "meta nfproto ipv4 dnat ip to meta l4proto . th dport map @fwd4_any", 4 + 4, 4 + 4},
    {"fwd6_ip", AF_INET6, true, "ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service",
     "meta nfproto ipv6 dnat ip6 to ip6 daddr . meta l4proto . th dport map @fwd6_ip", 16 + 4 + 4, 16 + 4},
    {"fwd6_any", AF_INET6, false, "inet_proto . inet_service : ipv6_addr . inet_service",
     "meta nfproto ipv6 dnat ip6 to meta l4proto . th dport map @fwd6_any", 4 + 4, 16 + 4},
}};
inline constexpr std::size_t kMaxKeyLen = 24;
inline constexpr std::size_t kMaxDataLen = 20;

inline const MapInfo& map_for(int family, bool bound) {
  for (const auto& m : kMaps)
    if (m.family == family && m.bound == bound) return m;
  return kMaps[0];  // unreachable: every (family, bound) pair has a map
}

struct ProtoInfo {
  Proto proto;
  std::string_view name;  // as nft prints inet_proto
  std::uint8_t ipproto;
};
inline constexpr std::array<ProtoInfo, 3> kProtos{{
    {Proto::tcp, "tcp", IPPROTO_TCP},
    {Proto::udp, "udp", IPPROTO_UDP},
    {Proto::sctp, "sctp", IPPROTO_SCTP},
}};

inline const ProtoInfo* proto_info(Proto p) {
  for (const auto& i : kProtos)
    if (i.proto == p) return &i;
  return nullptr;  // an out-of-range enum value
}
inline const ProtoInfo* proto_by_number(std::uint8_t ipproto) {
  for (const auto& i : kProtos)
    if (i.ipproto == ipproto) return &i;
  return nullptr;
}

}  // namespace podns::fw::layout
