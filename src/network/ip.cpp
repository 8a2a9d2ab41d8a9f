#include "podns/network/ip.hpp"

#include <arpa/inet.h>

#include <charconv>

#include <fmt/format.h>

#include "network/ip_int.hpp"

namespace podns::network {

using detail::from_int;
using detail::host_mask;
using detail::max_of;
using detail::to_int;

Result<IpAddr> IpAddr::parse(std::string_view text) {
  auto bad = [&] { return fail(Errc::invalid_argument, fmt::format("\"{}\" is not an IP address", text)); };
  // inet_pton wants a C string: no room for a NUL inside, nor for text longer than any address.
  char buf[INET6_ADDRSTRLEN] = {};
  if (text.empty() || text.size() >= sizeof buf || text.find('\0') != std::string_view::npos) return bad();
  text.copy(buf, text.size());
  IpAddr a;
  // AF_INET takes dotted quads only (no "10.1", no octal), AF_INET6 the RFC 4291 forms without a
  // zone ("fe80::1%eth0" is no address of a network).
  if (inet_pton(AF_INET, buf, a.bytes.data()) == 1) {
    a.family = AF_INET;
    return a;
  }
  if (inet_pton(AF_INET6, buf, a.bytes.data()) == 1) {
    a.family = AF_INET6;
    return a;
  }
  return bad();
}

std::string IpAddr::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  // Cannot fail: the family is one of the two and the buffer fits either.
  if (!inet_ntop(family, bytes.data(), buf, sizeof buf)) return {};
  return buf;
}

std::optional<IpAddr> IpAddr::plus(std::int64_t n) const {
  detail::u128 v = to_int(*this);
  if (n >= 0) {
    auto step = static_cast<detail::u128>(n);
    if (max_of(family) - v < step) return std::nullopt;
    return from_int(family, v + step);
  }
  // -(n + 1) + 1: the magnitude of INT64_MIN does not fit an int64.
  auto step = static_cast<detail::u128>(-(n + 1)) + 1;
  if (v < step) return std::nullopt;
  return from_int(family, v - step);
}

Result<Cidr> Cidr::parse(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return fail(Errc::invalid_argument, fmt::format("\"{}\" is not a subnet: {}", text, why));
  };
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return bad("no prefix length (as in 10.89.0.0/24)");
  auto addr = IpAddr::parse(text.substr(0, slash));
  if (!addr) return bad(fmt::format("\"{}\" is not an IP address", text.substr(0, slash)));
  auto digits = text.substr(slash + 1);
  // Digits only: from_chars would stop at "24x" or take "+24"; no leading zeros ("/024").
  unsigned prefix = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
      (digits.size() > 1 && digits[0] == '0'))
    return bad(fmt::format("prefix length \"{}\" is not a number", digits));
  if (prefix > static_cast<unsigned>(addr->bits()))
    return bad(fmt::format("prefix length {} is out of range for IPv{} (0-{})", prefix,
                           addr->family == AF_INET ? 4 : 6, addr->bits()));
  Cidr c{*addr, static_cast<std::uint8_t>(prefix)};
  auto mask = host_mask(addr->family, c.prefix);
  if (to_int(*addr) & mask) {
    Cidr net{from_int(addr->family, to_int(*addr) & ~mask), c.prefix};
    return bad(fmt::format("host bits set (the network is {})", net.str()));
  }
  return c;
}

std::string Cidr::str() const { return fmt::format("{}/{}", addr.str(), prefix); }

bool Cidr::contains(const IpAddr& a) const {
  if (a.family != addr.family) return false;
  auto mask = ~host_mask(addr.family, prefix);
  return (to_int(a) & mask) == (to_int(addr) & mask);
}

bool Cidr::overlaps(const Cidr& other) const {
  // Two prefixes overlap exactly when the shorter one contains the longer one.
  if (other.addr.family != addr.family) return false;
  return prefix <= other.prefix ? contains(other.addr) : other.contains(addr);
}

IpAddr Cidr::last() const { return from_int(addr.family, to_int(addr) | host_mask(addr.family, prefix)); }

}  // namespace podns::network
