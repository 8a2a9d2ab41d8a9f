// Attachments for other runtimes: what the podns-bridge CNI plugin does to the state and the
// host, as library calls (the plugin executable is only CNI's protocol in front of these).
//
// Each CNI attachment, keyed as CNI keys plugin state by (network, container id, ifname), is one
// row of kind `cni` in the pods table, named plugin_row_name(key). It has no pins (the runtime
// owns the netns), its ports as port rows, and one attachment (index 0) made by the native
// driver. So the locks, intents, crash recovery, the firewall's view of the state, `network
// reload`, `network rm --force` and the reboot reset all cover it as they cover podns's pods.
// The network is the podns native network named in the config, created from the config's
// definition on first use (see plugin_add).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "podns/error.hpp"
#include "podns/network/driver.hpp"
#include "podns/network/network.hpp"
#include "podns/pod/pod.hpp"
#include "podns/state/store.hpp"

namespace podns::pod {

struct PluginKey {
  std::string network;
  std::string container_id;
  std::string ifname;
  bool operator==(const PluginKey&) const = default;
};

// "cni:<network>:<container id>:<ifname>": ':' never occurs in a podns pod name.
std::string plugin_row_name(const PluginKey& key);

struct PluginAddRequest {
  PluginKey key;
  network::NetworkOptions network;        // the network as the plugin's config defines it (name = key.network)
  std::string netns_path;                 // CNI_NETNS
  std::vector<network::IpAddr> ips;       // static addresses: the ips capability, CNI_ARGS IP=
  std::string mac;                        // the mac capability, CNI_ARGS MAC=
  std::vector<PortSpec> ports;            // the portMappings capability
  bool default_route = false;             // isDefaultGateway
  std::vector<network::PodRoute> routes;  // ipam.routes
  nlohmann::json config;                  // the plugin's config as given, kept in the row's spec
};

// ADD. The network: created from req.network when the state has none of that name (its row and
// its rules in one transaction); used when it has the same definition; replaced when it differs
// and nothing is attached to it; otherwise Errc::invalid_argument naming both definitions, and
// nothing changes. Then the row (phase creating, with its ports), the interface, the forwards,
// phase ready; any failure tears down what was done. Errc::already_exists when the attachment
// exists (the runtime must DEL first) or a host port is published by another pod; Errc::busy when
// a lock or the database stays busy past env's timeouts. Returns the committed attachment (its
// result is CNI 1.0.0 JSON).
[[nodiscard]] Result<state::AttachmentRecord> plugin_add(const PodEnv& env, const PluginAddRequest& req);

// DEL. Best effort and idempotent: no such attachment is success. Deletes the pod's interface
// when the netns still exists (the runtime may ADD into it again), removes the forwards and the
// row with its leases. Works without the netns and without any result from the runtime.
[[nodiscard]] Status plugin_del(const PodEnv& env, const PluginKey& key);

// CHECK: the attachment exists and is complete (Errc::not_found otherwise: the container is
// unknown), the network's definition is still `network`, its addresses are `expected` (CIDR
// text, as the runtime's prevResult has them), the interface inside `netns_path` is up with those
// addresses, its host end is a port of the bridge, and the firewall has the network and the
// attachment's forwards. The first difference is the error.
[[nodiscard]] Status plugin_check(const PodEnv& env, const PluginKey& key, const network::NetworkOptions& network,
                                  const std::string& netns_path, std::span<const std::string> expected);

enum class PluginHealth {
  ready,        // ADD can be served
  unavailable,  // ADD cannot be served (the state, the firewall, no free address)
  degraded,     // and existing pods may have limited connectivity (the bridge is gone)
};
struct PluginStatus {
  PluginHealth health = PluginHealth::ready;
  std::string why;  // empty when ready
};
// STATUS for the network `network` would define (not created if missing).
[[nodiscard]] PluginStatus plugin_status(const PodEnv& env, const network::NetworkOptions& network);

// GC: with every other operation excluded (the global lock, exclusive), tear down every
// attachment on `network` that podns-bridge made and whose (container id, ifname) is not in
// `valid` (the network member of a key is ignored). Returns one line per attachment removed.
[[nodiscard]] Result<std::vector<std::string>> plugin_gc(const PodEnv& env, const std::string& network,
                                                         std::span<const PluginKey> valid);

}  // namespace podns::pod
