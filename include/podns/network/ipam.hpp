// IPAM for native networks, kept in the state database (no lease files, no directory scans): one
// row per lease with a UNIQUE (network, address) constraint, so two processes can never hand out
// the same address, and a round-robin cursor per range as host-local has (a freed address is
// not reused at once, so neighbours' stale ARP entries for it have time to expire).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "podns/error.hpp"
#include "podns/network/ip.hpp"
#include "podns/state/store.hpp"

namespace podns::network {

// One allocation range of a subnet (host-local's "range" object).
struct IpRange {
  Cidr subnet;
  IpAddr start;    // first allocatable address, inclusive
  IpAddr end;      // last allocatable address, inclusive
  IpAddr gateway;  // inside the subnet; never allocated

  // subnet: the network. gateway: default the first host address (.1). ip_range: a sub-range of
  // the subnet to allocate from (default: the whole subnet, minus the network address and, for
  // IPv4, the broadcast). Errc::invalid_argument, naming the problem: a gateway outside the subnet,
  // a range outside the subnet, a subnet too small for a gateway and one pod (IPv4 /31, /32, IPv6
  // /127, /128).
  [[nodiscard]] static Result<IpRange> make(const Cidr& subnet, std::optional<IpAddr> gateway = {},
                                            std::optional<Cidr> ip_range = {});
  // The cursor key in the state database.
  std::string key() const { return subnet.str(); }
  // How many addresses it can hand out (the gateway excluded), saturating at 2^64 - 1.
  std::uint64_t capacity() const;
  bool operator==(const IpRange&) const = default;
};

// Allocate one address of `range` in `network` for attachment (pod, index); the attachment's
// intent row must exist (the lease references it and goes with it). Runs in a store transaction
// (joins the caller's). `requested`: that address or an error — Errc::invalid_argument when it is
// outside the range or is the gateway, Errc::already_exists when another pod holds it (the error
// names the pod); a requested address leaves the cursor alone. Otherwise round-robin from the
// cursor, skipping the gateway and taken addresses; EADDRNOTAVAIL when the range is full.
[[nodiscard]] Result<IpAddr> allocate(state::Store& store, const std::string& network, const IpRange& range,
                                      const std::string& pod, int index, std::optional<IpAddr> requested = {});

}  // namespace podns::network
