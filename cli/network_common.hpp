// What the network verbs share: the group and its description.
#pragma once

#include "pod_common.hpp"
#include "podns/pod/networks.hpp"

namespace podns::cli {

inline CLI::App& network_group(CLI::App& app) {
  return group(app, "network", "Native podns networks (bridge, IPAM, nftables) beside CNI conflists");
}

}  // namespace podns::cli
