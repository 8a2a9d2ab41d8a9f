// The built-in default network, as podman has one: a bridge + host-local + portmap + firewall +
// tuning conflist that podns writes into its own config dir on first use, so `podns pod create web`
// works on a fresh machine. host-local keeps its leases under podns's state dir, so podns (and its
// gc) owns every address of this network.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "podns/error.hpp"

namespace podns::pod {

inline constexpr std::string_view kDefaultNetworkName = "podns";

struct DefaultNetworkOptions {
  std::string name = std::string(kDefaultNetworkName);
  std::string bridge = "podns0";
  std::string subnet = "10.89.0.0/16";  // gateway: the first address (10.89.0.1)
  std::string data_dir;                  // host-local dataDir; required
};

// The conflist document (cniVersion 1.0.0: what Debian's plugins 1.1.1 speak).
[[nodiscard]] Result<nlohmann::json> default_network_conflist(const DefaultNetworkOptions& options);

// <conf_dir>/<name>.conflist, written atomically (temp + fsync + rename + fsync dir) when absent.
// An existing file is left as it is: the operator may have edited it. Returns its path.
[[nodiscard]] Result<std::string> ensure_default_network(const std::string& conf_dir,
                                                         const DefaultNetworkOptions& options);

}  // namespace podns::pod
