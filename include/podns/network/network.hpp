// A native podns network: a Linux bridge, its subnets (IPv4 and/or IPv6) with IPAM in the state
// database, and its rules in podns's nftables table. This header is the definition: what
// `podns network create` is asked for, validated and completed into what is stored.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "podns/error.hpp"
#include "podns/network/ipam.hpp"
#include "podns/state/store.hpp"

namespace podns::network {

struct SubnetOptions {
  std::string subnet;    // CIDR
  std::string gateway;   // "" : the first host address
  std::string ip_range;  // "" : the whole subnet; else a CIDR inside it to allocate from
  // host-local's rangeStart/rangeEnd: the first and last address to allocate ("" : from ip_range
  // or the whole subnet), inside the subnet.
  std::string range_start;
  std::string range_end;
};

// What `podns network create` is asked for (podman's flags).
struct NetworkOptions {
  std::string name;
  std::vector<SubnetOptions> subnets;  // none: a free 10.89.N.0/24 (and with ipv6 a free fd.../64)
  bool ipv6 = false;                   // dual stack: an IPv6 subnet is added when none is given
  bool internal = false;               // no egress: no masquerade, nothing forwarded out
  bool masquerade = true;              // masquerade what leaves the subnets (podns-bridge: ipMasq)
  std::uint32_t mtu = 0;               // 0: the kernel's default
  std::string bridge;                  // "" : the first free podnsN
};

// A network as stored and used.
struct Network {
  std::string name;
  std::string bridge;
  std::vector<IpRange> ranges;  // one per subnet, IPv4 first
  bool internal = false;
  bool masquerade = true;
  std::uint32_t mtu = 0;
  std::int64_t created_at = 0;

  bool has_ipv6() const;
  // The same network: bridge, subnets with their gateways and ranges, flags and MTU (not the
  // name's creation time).
  bool same_definition(const Network& other) const;
  // Whether `ip` is in one of its subnets (a static address must be).
  bool contains(const IpAddr& ip) const;
  // The stored definition (NetworkRecord::options) and back.
  nlohmann::json options_json() const;
  state::NetworkRecord record() const;
  [[nodiscard]] static Result<Network> from_record(const state::NetworkRecord& rec);  // Errc::corrupt
};

// Validate `options` against the networks that exist and complete it: a name by the naming rules,
// a bridge name that is an ifname and not another network's, subnets valid and overlapping
// neither each other nor another network's, a gateway and range inside their subnet, an MTU of
// 68..65535. `taken_bridges`: interfaces that exist on the host (a bridge that exists but is not a
// podns network's is refused; the caller lists them). Errc::invalid_argument / invalid_name /
// already_exists naming what is wrong. Nothing is touched.
[[nodiscard]] Result<Network> make_network(const NetworkOptions& options, std::span<const Network> existing,
                                           std::span<const std::string> taken_bridges);

nlohmann::json to_json(const Network& n);

}  // namespace podns::network
