// Value types of the net layer: what rtnetlink says about a network namespace's links, addresses,
// routes and per-link counters. Plain data, copyable, comparable; no fds, no kernel handles.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace podns::net {

// The counters `ip -s link` shows, from IFLA_STATS64 (struct rtnl_link_stats64): 64-bit, so they
// do not wrap on a busy link the way the 32-bit IFLA_STATS ones do.
struct LinkStats {
  std::uint64_t rx_bytes = 0;
  std::uint64_t rx_packets = 0;
  std::uint64_t rx_errors = 0;
  std::uint64_t rx_dropped = 0;
  std::uint64_t tx_bytes = 0;
  std::uint64_t tx_packets = 0;
  std::uint64_t tx_errors = 0;
  std::uint64_t tx_dropped = 0;
  friend bool operator==(const LinkStats&, const LinkStats&) = default;
};

// RFC 2863 operational state, IFLA_OPERSTATE (IF_OPER_* in linux/if.h, same order).
enum class OperState : std::uint8_t { unknown, notpresent, down, lowerlayerdown, testing, dormant, up };
// "UP", "DOWN", "UNKNOWN", ... as `ip link` prints them.
std::string_view to_string(OperState state);

struct Link {
  int index = 0;                   // ifindex, unique inside one netns only
  std::string name;                // IFLA_IFNAME
  std::string kind;                // IFLA_INFO_KIND ("veth", "bridge", "dummy"); empty for lo and NICs
  std::string mac;                 // IFLA_ADDRESS as "aa:bb:cc:dd:ee:ff"; empty when the link has none
  std::uint32_t mtu = 0;           // IFLA_MTU
  std::uint32_t flags = 0;         // IFF_* from struct ifinfomsg (IFF_UP, IFF_LOOPBACK, ...)
  OperState operstate = OperState::unknown;
  int master = 0;                  // IFLA_MASTER: ifindex of the bridge/bond this link is a port of, 0 if none
  int link = 0;                    // IFLA_LINK: the peer's ifindex for a veth (the host end of a pod's eth0), 0 if none
  int link_netnsid = -1;           // IFLA_LINK_NETNSID: the netns id (as seen from this netns) the peer lives in, -1 if same/none
  std::optional<LinkStats> stats;  // IFLA_STATS64, absent only when the kernel left it out

  bool is_up() const noexcept;        // administratively up (IFF_UP)
  bool is_loopback() const noexcept;  // IFF_LOOPBACK
  friend bool operator==(const Link&, const Link&) = default;
};

struct Address {
  int index = 0;                  // ifindex of the link the address is on
  int family = 0;                 // AF_INET or AF_INET6
  std::string address;            // "10.88.0.5", "fd00::5"
  std::uint8_t prefix_len = 0;
  std::uint8_t scope = 0;         // RT_SCOPE_* (0 universe, 253 link, 254 host)
  std::uint32_t flags = 0;        // IFA_F_* (IFA_FLAGS when present: permanent, tentative, nodad, ...)
  std::string label;              // IFA_LABEL (IPv4 only)

  std::string cidr() const;       // "10.88.0.5/16"
  friend bool operator==(const Address&, const Address&) = default;
};

struct Route {
  int family = 0;                 // AF_INET or AF_INET6
  std::string dst;                // destination network address; empty for a default route
  std::uint8_t dst_len = 0;
  std::string gateway;            // RTA_GATEWAY; empty for an on-link route
  std::string prefsrc;            // RTA_PREFSRC; empty when not set
  int oif = 0;                    // RTA_OIF ifindex, 0 when none (multipath, blackhole)
  std::uint32_t table = 0;        // RTA_TABLE (254 main, 255 local)
  std::uint32_t priority = 0;     // RTA_PRIORITY (the metric)
  std::uint8_t protocol = 0;      // RTPROT_* (2 kernel, 3 boot, 4 static)
  std::uint8_t scope = 0;         // RT_SCOPE_*
  std::uint8_t type = 0;          // RTN_* (1 unicast, 2 local, ...)

  bool is_default() const noexcept { return dst_len == 0; }
  // "default" or "10.88.0.0/16", as `ip route` prints the destination.
  std::string destination() const;
  friend bool operator==(const Route&, const Route&) = default;
};

// Routing tables as rtnetlink numbers them (linux/rtnetlink.h).
inline constexpr std::uint32_t kTableMain = 254;
inline constexpr std::uint32_t kTableLocal = 255;
inline constexpr std::uint32_t kAllTables = 0;

}  // namespace podns::net
