// IP addresses as unsigned integers (private to src/network): stepping, masks, comparisons of
// ranges. A 128-bit integer holds either family; IPv4 uses its low 32 bits.
#pragma once

#include "podns/network/ip.hpp"

namespace podns::network::detail {

__extension__ using u128 = unsigned __int128;

inline u128 to_int(const IpAddr& a) {
  u128 v = 0;
  for (int i = 0; i < a.bits() / 8; ++i) v = (v << 8) | a.bytes[static_cast<size_t>(i)];
  return v;
}

inline IpAddr from_int(int family, u128 v) {
  IpAddr a;
  a.family = family;
  for (int i = (family == AF_INET ? 4 : 16) - 1; i >= 0; --i) {
    a.bytes[static_cast<size_t>(i)] = static_cast<std::uint8_t>(v & 0xff);
    v >>= 8;
  }
  return a;
}

// The largest address of the family.
inline u128 max_of(int family) { return family == AF_INET ? u128(0xffffffffu) : ~u128(0); }

// The host bits of a prefix length (shifting a u128 by 128 is undefined: spelled out).
inline u128 host_mask(int family, int prefix) {
  int host = (family == AF_INET ? 32 : 128) - prefix;
  if (host <= 0) return 0;
  if (host >= 128) return ~u128(0);
  return (u128(1) << host) - 1;
}

}  // namespace podns::network::detail
