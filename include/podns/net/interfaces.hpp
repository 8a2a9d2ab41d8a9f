// Live link state of a pod's network namespace for `podns pod inspect`: each interface with its
// MAC, MTU, state and IPv4/IPv6 addresses (with prefix), read from the kernel rather than from the
// CNI result, so it shows what is there now.
#pragma once

#include <string>
#include <vector>

#include "podns/error.hpp"
#include "podns/net/client.hpp"
#include "podns/net/types.hpp"

namespace podns::net {

struct InterfaceState {
  Link link;
  std::vector<Address> addresses;  // IPv4 first, then IPv6, each in kernel order
};

// Every link (loopback only when asked) with its addresses: two dumps, joined by ifindex.
[[nodiscard]] Result<std::vector<InterfaceState>> live_interfaces(Client& client, bool include_loopback = false);
[[nodiscard]] Result<std::vector<InterfaceState>> live_interfaces(const std::string& netns_path,
                                                                 bool include_loopback = false);

}  // namespace podns::net
