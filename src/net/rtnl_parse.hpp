// Decoding RTM_NEWLINK / RTM_NEWADDR / RTM_NEWROUTE messages into net:: value types. Attributes
// are validated before use (a short or malformed attribute is an Errc::corrupt error, never an
// out-of-bounds read), and unknown ones are ignored, so newer kernels keep working.
#pragma once

#include <linux/netlink.h>

#include <cstddef>
#include <span>
#include <string>

#include "podns/error.hpp"
#include "podns/net/types.hpp"

namespace podns::net::detail {

[[nodiscard]] Result<Link> parse_link(const nlmsghdr& nlh);
[[nodiscard]] Result<Address> parse_address(const nlmsghdr& nlh);
[[nodiscard]] Result<Route> parse_route(const nlmsghdr& nlh);

// "aa:bb:cc:dd:ee:ff" (any length; empty for no bytes).
std::string format_hwaddr(std::span<const unsigned char> bytes);
// inet_ntop of a 4- or 16-byte address; empty when the length fits neither family.
std::string format_ip(int family, std::span<const unsigned char> bytes);

}  // namespace podns::net::detail
