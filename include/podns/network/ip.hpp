// IP addresses and prefixes as values: parse, print (canonical text: what inet_ntop gives, so an
// address has one spelling in the state database), compare, step, contain, overlap.
#pragma once

#include <sys/socket.h>

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "podns/error.hpp"

namespace podns::network {

struct IpAddr {
  int family = AF_INET;                 // AF_INET or AF_INET6
  std::array<std::uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4

  [[nodiscard]] static Result<IpAddr> parse(std::string_view text);  // Errc::invalid_argument
  std::string str() const;                                           // canonical
  int bits() const { return family == AF_INET ? 32 : 128; }
  // The address `n` after this one (n may be negative); nullopt on wrap-around.
  std::optional<IpAddr> plus(std::int64_t n) const;
  auto operator<=>(const IpAddr&) const = default;
};

struct Cidr {
  IpAddr addr;             // the network address (host bits zero)
  std::uint8_t prefix = 0;

  // "10.89.0.0/24", "fd00:1::/64". Host bits set: Errc::invalid_argument (say which is meant).
  [[nodiscard]] static Result<Cidr> parse(std::string_view text);
  std::string str() const;
  bool contains(const IpAddr& a) const;
  bool overlaps(const Cidr& other) const;
  IpAddr first() const { return addr; }  // the network address itself
  IpAddr last() const;                   // broadcast for IPv4
  bool operator==(const Cidr&) const = default;
};

}  // namespace podns::network
