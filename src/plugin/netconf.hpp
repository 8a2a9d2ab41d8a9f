// The podns-bridge network configuration, as the runtime hands it to the plugin on stdin: the
// reference bridge plugin's options (bridge, isGateway, isDefaultGateway, ipMasq, hairpinMode,
// mtu), an ipam object in host-local's shape (ranges or subnet, routes), dns, the runtimeConfig
// of the capabilities (portMappings, ips, mac), prevResult, GC's valid attachments, and where
// podns keeps its state (podnsStateDir, podnsRunDir, podnsNftTable, podnsLockTimeout).
//
// Parsing is in two steps: the common part (what DEL and GC need: the version, the name, the
// state's location) never fails on a network definition DEL does not need; the definition is
// parsed only by the verbs that use it.
#pragma once

#include <chrono>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "podns/cni/types.hpp"
#include "podns/network/driver.hpp"
#include "podns/network/network.hpp"
#include "podns/pod/plugin.hpp"
#include "podns/pod/spec.hpp"

namespace podns::plugin {

template <class T>
using CniResultOr = std::expected<T, cni::CniError>;

// A CNI error result with no details.
inline std::unexpected<cni::CniError> cni_fail(int code, std::string msg) {
  return std::unexpected(cni::CniError{code, std::move(msg), {}});
}

struct CommonConf {
  nlohmann::json raw;       // the whole config object
  std::string cni_version;  // supported (checked)
  std::string name;         // the network
  std::string state_dir, run_dir, nft_table;  // "" : podns's defaults
  std::optional<std::chrono::milliseconds> lock_timeout;
  std::optional<nlohmann::json> prev_result;
};

// stdin: a JSON object with a supported cniVersion (1 otherwise) and a valid name (7); 6 when it
// is not JSON at all.
[[nodiscard]] CniResultOr<CommonConf> parse_common(std::string_view stdin_text);

// What the config defines beyond the common part.
struct NetworkConf {
  network::NetworkOptions network;        // name, bridge, subnets, mtu, masquerade
  bool default_route = false;             // isDefaultGateway
  std::vector<network::PodRoute> routes;  // ipam.routes
  cni::Dns dns;                           // "dns", returned in the result
};
// 7 for an invalid value, 2 for an option podns-bridge does not implement (naming it).
[[nodiscard]] CniResultOr<NetworkConf> parse_network(const CommonConf& c);

// The capabilities' runtimeConfig and CNI_ARGS (IP=, MAC=; other keys ignored, as Kubernetes'
// K8S_POD_* are).
struct Requests {
  std::vector<pod::PortSpec> ports;
  std::vector<network::IpAddr> ips;
  std::string mac;
};
[[nodiscard]] CniResultOr<Requests> parse_requests(const CommonConf& c,
                                                   const std::vector<std::pair<std::string, std::string>>& cni_args);

// GC's cni.dev/valid-attachments (or the draft name cni.dev/attachments).
[[nodiscard]] CniResultOr<std::vector<pod::PluginKey>> parse_valid_attachments(const CommonConf& c);

}  // namespace podns::plugin
