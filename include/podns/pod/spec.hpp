// What `podns pod create` is asked for, parsed and validated before anything is touched.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "podns/error.hpp"

namespace podns::pod {

// One published port: -p [HOSTIP:]HOSTPORT:CTRPORT[/tcp|udp|sctp] (podman's form; HOSTPORT alone
// publishes the same port number). Ranges as podman: 8080-8082:80-82 (equal lengths), 8080-8082
// (the same numbers inside), 8080-8082:80 (80-82).
struct PortSpec {
  std::string host_ip;  // "" = every host address
  int host_port = 0;
  int container_port = 0;
  std::string protocol = "tcp";
  int range = 1;        // consecutive ports from host_port and container_port
  bool operator==(const PortSpec&) const = default;
};
[[nodiscard]] Result<PortSpec> parse_port_spec(std::string_view text);
std::string format_port_spec(const PortSpec& p);

struct CreateOptions {
  std::string name;
  // Networks in attachment order: the first becomes eth0, the next eth1, ... Empty: the built-in
  // default network.
  std::vector<std::string> networks;
  std::vector<PortSpec> ports;  // published through the first network (portMappings capability)
  std::string ip;               // static IPv4/IPv6 address for the first network (ips capability)
  std::string mac;              // static MAC for the first network's interface (mac capability)
  std::vector<std::pair<std::string, std::string>> sysctls;  // net.* only, set inside the pod's netns
  // --userns: "" (none), "auto", or "CONTAINER:HOST:SIZE[,...]" (same map for uid and gid).
  std::string userns;
  // --rootless-net: "" (CNI), "slirp4netns" or "pasta".
  std::string rootless_net;
};

// Validates every field (names, ports, address syntax, MAC syntax, sysctl keys) and fills in the
// default network. Errc::invalid_argument / invalid_name, naming the bad field.
[[nodiscard]] Status validate(CreateOptions& options, std::string_view default_network);
// Parses a "K=V" sysctl.
[[nodiscard]] Result<std::pair<std::string, std::string>> parse_sysctl(std::string_view text);

nlohmann::json to_json(const CreateOptions& o);
[[nodiscard]] Result<CreateOptions> create_options_from_json(std::string_view text);

}  // namespace podns::pod
