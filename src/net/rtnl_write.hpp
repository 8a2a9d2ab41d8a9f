// Encoding the mutating rtnetlink requests of net::Client (link_request.hpp) into one message
// each: pure functions that validate a request and fill a caller's buffer, so every attribute
// can be checked by parsing the message back, without a kernel. Private to the net layer; the
// real client sends what these write, the fake validates with them.
#pragma once

#include <linux/netlink.h>

#include <string>

#include "podns/error.hpp"
#include "podns/net/link_request.hpp"

namespace podns::net::detail {

// Room for any message written here: the largest, a veth with every attribute, is under 200
// bytes (names are at most 15 bytes, addresses 16), so nothing can overrun it.
struct RequestBuffer {
  alignas(nlmsghdr) char bytes[512] = {};
};

// Every writer validates first and writes nothing on failure: Errc::invalid_name for an interface
// name validate_ifname refuses, Errc::invalid_argument for any other field (the error names it).
// On success the message is complete but for what NetlinkSocket::request adds (NLM_F_REQUEST,
// NLM_F_ACK, the sequence number). The fds inside (VethRequest::peer_netns) are written as they
// are: checking that one is a network namespace takes syscalls and is the client's job.

// RTM_NEWLINK, NLM_F_CREATE|NLM_F_EXCL: IFLA_IFNAME, IFLA_MTU, IFLA_LINKINFO{kind "bridge"}.
[[nodiscard]] Result<nlmsghdr*> write_new_bridge(RequestBuffer& buf, const BridgeRequest& req);

// RTM_NEWLINK, NLM_F_CREATE|NLM_F_EXCL: the host end (IFLA_IFNAME, IFLA_MTU, IFLA_MASTER,
// IFF_UP when host_up) and IFLA_LINKINFO{kind "veth", data{VETH_INFO_PEER: ifinfomsg, IFLA_IFNAME,
// IFLA_NET_NS_FD, IFLA_MTU, IFLA_ADDRESS}}: both ends in one message, the peer born in its netns.
[[nodiscard]] Result<nlmsghdr*> write_new_veth(RequestBuffer& buf, const VethRequest& req);

// RTM_NEWLINK on change.index setting IFF_UP (or clearing it) through ifi_flags/ifi_change.
[[nodiscard]] Result<nlmsghdr*> write_link_flags(RequestBuffer& buf, const LinkChange& change);

// RTM_NEWLINK on change.index carrying IFLA_AF_SPEC with AF_INET{IFLA_INET_CONF{ARP_NOTIFY = 1}}
// when change.arp_notify and AF_INET6{IFLA_INET6_ADDR_GEN_MODE = NONE} when
// change.no_ipv6_link_local, and no flag change. Not folded into write_link_flags: do_setlink()
// applies ifi_flags before IFLA_AF_SPEC, so in one message the link comes up (NETDEV_UP, where
// the gratuitous ARP is sent and the link-local address made) before the settings apply.
[[nodiscard]] Result<nlmsghdr*> write_link_conf(RequestBuffer& buf, const LinkChange& change);

// RTM_NEWADDR, NLM_F_CREATE|NLM_F_EXCL: IFA_LOCAL and IFA_ADDRESS; IPv4 also IFA_BROADCAST
// (`brd +`, for prefixes up to /30 as iproute2 does); IPv6 IFA_FLAGS IFA_F_NODAD when nodad.
[[nodiscard]] Result<nlmsghdr*> write_new_address(RequestBuffer& buf, const AddressRequest& req);

// RTM_NEWROUTE, NLM_F_CREATE|NLM_F_EXCL in the main table, protocol boot (as `ip route add`),
// unicast, scope universe with a gateway and link without: RTA_DST, RTA_GATEWAY, RTA_OIF,
// RTA_METRICS{RTAX_MTU}, each when set.
[[nodiscard]] Result<nlmsghdr*> write_new_route(RequestBuffer& buf, const RouteRequest& req);

// RTM_SETLINK, family AF_BRIDGE, on the port `index`: IFLA_PROTINFO{IFLA_BRPORT_MODE = 1}
// (`bridge link set dev X hairpin on`).
[[nodiscard]] Result<nlmsghdr*> write_port_hairpin(RequestBuffer& buf, int index);

// RTM_DELLINK by ifindex.
[[nodiscard]] Result<nlmsghdr*> write_del_link(RequestBuffer& buf, int index);

// What each request does, as the context of its errors: "create veth vethab12 (peer eth0)",
// "create bridge br0", "set link 5 up", "add address 10.89.0.5/24 to link 5",
// "add route default via 10.89.0.1", "delete link 5". Shared by the real and the fake client.
std::string describe(const BridgeRequest& req);
std::string describe(const VethRequest& req);
std::string describe(const LinkChange& change);
std::string describe(const AddressRequest& req);
std::string describe(const RouteRequest& req);
std::string describe_delete_link(int index);

}  // namespace podns::net::detail
