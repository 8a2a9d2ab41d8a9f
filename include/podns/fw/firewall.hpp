// The podns firewall: one nf_tables table (`inet podns` by default) that podns owns alone.
//
// Per network: masquerade of traffic leaving its subnets (not for --internal networks), isolation
// from the other podns networks, and for --internal no egress at all. Port forwarding: DNAT at
// prerouting and output for local destination addresses (`fib daddr type local`) through maps
// keyed by protocol and host port (and host address, for a forward bound to one address), so that
// creating or removing a pod only adds or removes map ELEMENTS, in one atomic batch, and the number
// of rules never grows with pods. DNATed connections from a pod subnet (hairpin: a pod reaching its
// own published port) or from 127.0.0.0/8 are masqueraded so the replies come back through the
// host.
//
// The table is rebuilt whole (sync) when networks change and by `podns network reload`; elements
// change per pod (update). podns records who owns each element in its state database; this layer
// only writes what it is told. Never touches any other table.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "podns/error.hpp"
#include "podns/fd.hpp"

namespace podns::fw {

enum class Proto : std::uint8_t { tcp, udp, sctp };
std::string_view to_string(Proto p);
[[nodiscard]] Result<Proto> parse_proto(std::string_view s);  // Errc::invalid_argument

// One podns network as the firewall sees it.
struct NetworkRules {
  std::string name;                  // the podns network name
  std::string bridge;                // its bridge ifname (letters, digits, '_', '-', '.' only)
  std::vector<std::string> subnets;  // CIDRs, IPv4 and/or IPv6, network addresses ("10.89.0.0/24")
  bool internal = false;             // no traffic leaves the bridge except to the host; no masquerade
  // Masquerade what leaves the subnets (podns networks do; a podns-bridge network with ipMasq
  // false does not: its pods' addresses are routed, as a Kubernetes node's pod CIDR is).
  bool masquerade = true;
  bool operator==(const NetworkRules&) const = default;
};

// One published host port: one map element. Port ranges are expanded by the caller.
struct PortForward {
  Proto proto = Proto::tcp;
  std::string host_ip;          // "" : any local address of pod_ip's family; "127.0.0.1" works too
                                // ("0.0.0.0" and "::" are refused: "" says it)
  std::uint16_t host_port = 0;
  std::string pod_ip;           // IPv4 or IPv6: the element goes to that family's map
  std::uint16_t pod_port = 0;
  bool operator==(const PortForward&) const = default;
};

struct Ruleset {
  std::vector<NetworkRules> networks;
  std::vector<PortForward> forwards;
};

// What the kernel has now (for `network inspect`, the tests, and the leak check).
struct Installed {
  bool table = false;                 // the table exists
  bool complete = false;              // every base chain and map podns needs is there
  std::vector<std::string> bridges;   // bridges the table has per-network rules for
  std::vector<PortForward> forwards;  // every element of the forward maps
};

// One thread at a time per Firewall. Every call validates its input first: bad input is
// Errc::invalid_argument naming the field, and nothing is changed.
class Firewall {
 public:
  // A handle on table `inet <table>` (nothing is created yet). The netlink socket lives in the
  // caller's netns at the time of the call. `table`: a letter, then letters, digits, '_', '-', '.',
  // at most 63 bytes, not an nft keyword; Errc::invalid_name otherwise.
  // Keep it open across pods: closing an nf_tables socket right after a change waits for the
  // kernel's transaction cleanup (an RCU grace period).
  [[nodiscard]] static Result<Firewall> open(std::string table = "podns");
  Firewall(Firewall&&) noexcept;
  Firewall& operator=(Firewall&&) noexcept;
  ~Firewall();

  const std::string& table() const;

  // Replace the table with exactly `rs`, in one atomic transaction: nobody ever sees it half
  // built, and a failure leaves the old one. An empty ruleset (no networks) deletes the table
  // (its forwards are checked, then ignored). libnftables works in the calling thread's netns:
  // called in another netns than open() was, sync fails with Errc::unsupported.
  [[nodiscard]] Status sync(const Ruleset& rs);

  // Remove then add port forwards in ONE batch (atomic). Removing an element that is not there is
  // not an error; removal matches the key (proto, host_ip, host_port), whatever the pod. Errc::
  // not_found when the table or its maps are missing (flushed behind podns's back): the caller
  // syncs and retries. Errc::already_exists when an added key is present (two adds of one key in
  // one call are Errc::invalid_argument).
  [[nodiscard]] Status update(std::span<const PortForward> add, std::span<const PortForward> remove);

  [[nodiscard]] Result<Installed> installed();

  // Whether an update() removed elements. The kernel frees them after an RCU grace period, and the
  // last close of this Firewall's socket waits for that first, holding nf_tables' commit lock (a
  // 10-15 ms wait here, where a pod's create takes 3): a process about to exit hands that close to
  // someone else (network::HostPlane::hand_off_slow_close).
  bool removed_elements() const;
  // The nf_tables socket, borrowed.
  FdView socket() const;

  struct Impl;

 private:
  explicit Firewall(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The nft script sync() loads (readable; tests and docs show it). For input sync() would refuse:
// one comment line saying why, which changes nothing if loaded.
std::string ruleset_text(std::string_view table, const Ruleset& rs);

// Base chains of OTHER tables, at the forward hook, whose policy is drop (Docker sets the
// iptables FORWARD policy to DROP): they drop pod traffic whatever podns's table accepts.
// "table ip filter chain FORWARD" lines (ip, ip6, inet and bridge families); empty when there is
// none. iptables-legacy chains are not nf_tables and do not show here.
[[nodiscard]] Result<std::vector<std::string>> foreign_forward_drops();

}  // namespace podns::fw
