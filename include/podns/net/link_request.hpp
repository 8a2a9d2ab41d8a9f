// What the native network driver asks rtnetlink to create or change: value types for the
// mutating half of net::Client (client.hpp). Plain data; the fds inside are borrowed.
//
// Clients check a request before sending anything: an interface name validate_ifname refuses is
// Errc::invalid_name; any other bad field (MAC, address text, prefix length for the family, an
// ifindex <= 0, a peer_netns fd that is closed or no network namespace) is Errc::invalid_argument,
// and the message names the field: "create veth vethab12 (peer eth0): peer_mac ...".
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "podns/fd.hpp"

namespace podns::net {

// A bridge in the client's netns. Created down; the caller brings it up once addressed.
struct BridgeRequest {
  std::string name;       // ifname, validate_ifname rules
  std::uint32_t mtu = 0;  // 0: the kernel's default (1500)
};

// One veth pair made by ONE RTM_NEWLINK: the host end in the client's netns, already enslaved to
// `master` and up; the peer created directly inside `peer_netns` (IFLA_NET_NS_FD in the peer's
// info) under its final name, down. No rename, no move, no second message.
struct VethRequest {
  std::string host_name;   // unique per attach: the old pod's veth may still be dying
  std::string peer_name;   // "eth0": the name inside the pod
  FdView peer_netns;       // the pod's netns (borrowed; checked with fstatfs + NS_GET_NSTYPE)
  int master = 0;          // ifindex of the bridge for the host end (IFLA_MASTER); 0 for none
  std::uint32_t mtu = 0;   // both ends; 0: kernel default
  std::string peer_mac;    // "aa:bb:cc:dd:ee:ff" for the pod end; "" lets the kernel pick
  bool host_up = true;     // bring the host end up in the same message (IFF_UP)
  // Hairpin mode on the host end's bridge port (IFLA_BRPORT_MODE): where br_netfilter hands
  // bridged frames to netfilter, a pod's connection to its own published port is DNATed back to
  // the port it came in on, and the bridge drops it unless the port may reflect. A second message
  // (port options apply to existing ports only); needs `master`.
  bool hairpin = false;
};

// Bring a link up (or down), optionally configuring it first through rtnetlink (IFLA_AF_SPEC),
// without a sysctl write from inside the pod's netns:
// - arp_notify: the link announces itself with a gratuitous ARP as it comes up; the ARP carries
//   the link's IPv4 addresses at that moment, so add them first;
// - no_ipv6_link_local: no IPv6 link-local address (IFLA_INET6_ADDR_GEN_MODE none), and so no
//   duplicate address detection, router solicitation or MLD report from the link: on an
//   IPv4-only bridge each of those is flooded to every port, and is work for every other pod.
// Either costs a second RTM_NEWLINK (in the same send), before the one that changes IFF_UP: the
// kernel applies IFLA_AF_SPEC after the flags of the same message, so in one message the link
// would come up first, silently.
struct LinkChange {
  int index = 0;
  bool up = true;
  bool arp_notify = false;          // IPV4_DEVCONF_ARP_NOTIFY = 1; false leaves the setting as it is
  bool no_ipv6_link_local = false;  // IN6_ADDR_GEN_MODE_NONE; false leaves the mode as it is
};

// An address on a link. NODAD by default: a pod's IPv6 address is usable at once instead of
// being "tentative" for a second (the address is unique by IPAM, not by discovery).
struct AddressRequest {
  int index = 0;
  std::string address;        // "10.89.0.5" or "fd00::5"
  std::uint8_t prefix_len = 0;
  bool nodad = true;          // IFA_F_NODAD (IPv6 only; ignored for IPv4)
};

// A route in the main table. dst "" with dst_len 0 is the default route.
struct RouteRequest {
  int family = AF_INET;        // AF_INET or AF_INET6
  std::string dst;             // network address, "" for default
  std::uint8_t dst_len = 0;
  std::string gateway;         // "" for an on-link route
  int oif = 0;                 // output ifindex; 0 to let the kernel resolve the gateway
  std::uint32_t mtu = 0;       // RTAX_MTU; 0: none
};

}  // namespace podns::net
