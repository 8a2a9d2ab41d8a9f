// The native network driver: gives a pod an interface on a podns network and takes it away, in
// process, over netlink. No helper processes, no lease files.
//
// attach: ONE RTM_NEWLINK makes the veth with its peer already inside the pod's netns under its
// final name and the host end already a port of the bridge and up; the pod end's addresses, link
// up (with arp_notify, so the new MAC of a reused address is announced at once) and default route
// go through one rtnetlink socket opened inside the pod's netns; published ports become map
// elements of podns's nftables table in one batch. detach: the elements go (one batch); the
// attachment row and its leases are the caller's to delete (pod rm deletes them with the pod's
// rows, in one transaction); the veth is NOT deleted: it dies with the pod's netns when the
// pins go, and the kernel frees devices of dying namespaces in one batch, so nobody waits for a
// per-device RCU grace period.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "podns/error.hpp"
#include "podns/fd.hpp"
#include "podns/fw/firewall.hpp"
#include "podns/net/client.hpp"
#include "podns/network/network.hpp"
#include "podns/state/store.hpp"

namespace podns::network {

// Make sure the network's bridge exists, is addressed (the gateways) and up, with the host sysctls
// it needs (ip_forward, IPv6 forwarding, route_localnet on the bridge), each read before it is
// written. Idempotent and safe against a concurrent caller doing the same. Returns the bridge's
// ifindex. Cheap when all is there: one RTM_GETLINK.
[[nodiscard]] Result<int> ensure_bridge(net::Client& host, const Network& net);

// The host side of the data plane: an rtnetlink client in the host netns and podns's nftables
// table, whose element updates and whole-table syncs are serialized by a lock file (shared for
// updates, exclusive for a sync), so a sync computed from the state never drops an element that
// a concurrent pod operation added after the state was read.
class HostPlane {
 public:
  [[nodiscard]] static Result<std::unique_ptr<HostPlane>> open(const std::string& locks_dir,
                                                               const std::string& nft_table);
  // Over a given rtnetlink client (any net::Client) and firewall.
  HostPlane(std::unique_ptr<net::Client> links, fw::Firewall firewall, std::string lock_path);

  net::Client& links() { return *links_; }  // thread-safe
  // One thread at a time: callers other than update_forwards/sync hold firewall_mutex().
  fw::Firewall& firewall() { return firewall_; }
  std::mutex& firewall_mutex() { return fw_mu_; }

  // Remove then add forwards in one batch. When the table is missing (flushed, or a reboot),
  // the whole table is rebuilt from the state instead, which holds these forwards already.
  [[nodiscard]] Status update_forwards(state::Store& store, std::span<const fw::PortForward> add,
                                       std::span<const fw::PortForward> remove);
  // Rebuild the whole table from the state (desired_ruleset), atomically.
  [[nodiscard]] Status sync(state::Store& store);

  // For a process about to exit: when the firewall removed elements, the last close of its socket
  // (which would wait for an RCU grace period, fw::Firewall::removed_elements) goes to a detached
  // closer process, and the exit does not wait. The plane stays usable. Best effort: when no
  // closer can be started, the exit waits as before.
  void hand_off_slow_close();

 private:
  std::unique_ptr<net::Client> links_;
  fw::Firewall firewall_;
  std::mutex fw_mu_;  // a Firewall serves one thread at a time
  std::string lock_path_;
};

// A route inside the pod besides the default route(s): host-local's ipam "routes".
struct PodRoute {
  Cidr dst;
  std::optional<IpAddr> gw;  // none: the gateway of the network's range of dst's family
  bool operator==(const PodRoute&) const = default;
};

struct AttachRequest {
  std::string pod;
  std::string container_id;    // recorded like a CNI attachment's
  int index = 0;               // attachment index: 0 -> eth0
  std::string ifname;          // "eth0"
  std::string netns_path;      // the pod's netns pin (the sandbox key)
  FdView netns;                // an open fd of it (borrowed)
  std::vector<IpAddr> ips;     // static addresses, at most one per subnet of this network
  std::string mac;             // static MAC of the pod's interface; "" : a random local one
  bool default_route = true;   // the default route(s) through this network's gateways
  std::vector<PodRoute> routes;  // more routes (one equal to a default route added is skipped)
  std::vector<state::PortMapping> ports;  // published through this attachment (the pod's rows)
};

// Record the attachment intent and its leases (one transaction), create and configure the
// interface, add the port forwards, commit the attachment with a CNI-1.0-shaped result (so
// inspect, ls and the CNI plugin read native and CNI attachments alike). A failure leaves the
// intent row for the caller's teardown (detach, then unpin: the veth dies with the netns).
[[nodiscard]] Result<state::AttachmentRecord> attach(state::Store& store, HostPlane& host, const Network& net,
                                                     const AttachRequest& req);

// Undo an attachment made by attach(), in whatever state a crash left it: remove its port
// forwards (missing ones and a missing table are fine). Idempotent. The row and its leases stay
// for the caller to delete (ON DELETE CASCADE takes the leases with the row).
[[nodiscard]] Status detach(state::Store& store, HostPlane& host, const state::AttachmentRecord& a,
                            std::span<const state::PortMapping> ports);

// The port forwards an attachment publishes: each mapping (ranges expanded) to each of its leased
// addresses of the mapping's family (a host IP of one family only maps to that family).
std::vector<fw::PortForward> forwards_of(std::span<const state::PortMapping> ports,
                                         std::span<const state::Lease> leases);

// The whole table as the state says it should be: every native network's rules and every port
// forward of every native attachment that holds leases. `network reload`, network create/rm and
// the first use after a reboot load this with Firewall::sync.
[[nodiscard]] Result<fw::Ruleset> desired_ruleset(state::Store& store);

// The current boot's id (/proc/sys/kernel/random/boot_id, or the file given).
[[nodiscard]] Result<std::string> read_boot_id(const std::string& path = "/proc/sys/kernel/random/boot_id");

}  // namespace podns::network
