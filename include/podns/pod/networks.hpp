// `podns network`: native networks as first-class objects beside the CNI conflists. Creating,
// removing and reloading networks changes podns's nftables table as a whole, so create and rm
// exclude every pod operation (the global lock, exclusive); reload excludes only other firewall
// writers.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "podns/error.hpp"
#include "podns/fw/firewall.hpp"
#include "podns/network/network.hpp"
#include "podns/pod/pod.hpp"

namespace podns::pod {

// A name that a CNI conflist in env.cni_conf_dir already has is refused (Errc::already_exists): one
// name, one network.
[[nodiscard]] Result<network::Network> network_create(const PodEnv& env, const network::NetworkOptions& options);

// One line of `network ls`: native networks and CNI conflists (a native network shadows a
// conflist of the same name).
struct NetworkSummary {
  std::string name;
  std::string driver;                // "bridge" (native) or "cni"
  std::string bridge;                // native only
  std::vector<std::string> subnets;  // native only
  bool internal = false;
  std::string source;                // CNI: the conflist file
  int pods = 0;                      // native: pods attached
};
[[nodiscard]] Result<std::vector<NetworkSummary>> network_list(const PodEnv& env);
nlohmann::json to_json(const NetworkSummary& s);

struct NetworkMember {
  std::string pod;           // a podns pod's name, or the row of a CNI attachment (kind cni)
  std::string kind = "pod";  // "pod", or "cni": made by the podns-bridge plugin for a runtime
  std::string container_id;  // cni: the runtime's container id
  std::string ifname;
  std::string host_ifname;
  std::vector<std::string> addresses;  // leased, canonical
};
// What `network inspect` shows: the definition, the pods on it, and what the kernel has now.
struct NetworkDetails {
  network::Network network;
  std::vector<NetworkMember> members;
  bool bridge_present = false;
  bool firewall_table = false;     // podns's table exists
  bool firewall_complete = false;  // with every chain and map
  bool firewall_has_network = false;  // with this network's rules
  int forwards_expected = 0;       // this network's port forwards the state has
  int forwards_missing = 0;        // ... that the kernel's maps lack (reload mends them)
  std::vector<std::string> foreign_forward_drops;  // other tables that drop forwarded traffic
};
[[nodiscard]] Result<NetworkDetails> network_inspect(const PodEnv& env, const std::string& name);
nlohmann::json to_json(const NetworkDetails& d);

// Refused (Errc::busy, naming the pods) while pods use it, unless `force`, which removes them.
// Removes the bridge, the row and the network's rules. A missing network is an error unless force.
[[nodiscard]] Status network_remove(const PodEnv& env, const std::string& name, bool force);

// Re-apply every rule and map element from the state and bring back missing bridges: after
// `nft flush ruleset`, a firewall service restart or a reboot. Returns what it did.
[[nodiscard]] Result<std::vector<std::string>> network_reload(const PodEnv& env);

}  // namespace podns::pod
