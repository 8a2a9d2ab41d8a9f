// A recording net::Client for tests of error paths the kernel will not produce on demand (a dump
// failing halfway through a stats round, a link vanishing, a corrupt answer, a veth create that
// fails after the bridge was made). Fill in the tables, arm failures, read back `calls`.
// Thread-safe, like the real client.
//
// The changes are checked as the real client checks them (same writers, same errors) except
// VethRequest::peer_netns, which may be any number here: tests of a driver need no real netns.
// create_bridge/create_veth add a Link to link_table (ifindex next_index++, kind, master, mtu, up)
// and refuse a name that is already there (Errc::already_exists), so link(name) finds what was
// created; delete_link removes the link when it is there. Nothing else changes the tables.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "podns/net/client.hpp"

namespace podns::net {

class FakeClient final : public Client {
 public:
  // What the fake answers with.
  std::vector<Link> link_table;
  std::vector<Address> address_table;
  std::vector<Route> route_table;

  // When set, the next calls of that method fail with this error (it stays armed until reset).
  std::optional<Error> links_error;
  std::optional<Error> link_error;
  std::optional<Error> addresses_error;
  std::optional<Error> routes_error;
  std::optional<Error> create_bridge_error;
  std::optional<Error> create_veth_error;
  std::optional<Error> set_link_error;
  std::optional<Error> add_address_error;
  std::optional<Error> add_route_error;
  std::optional<Error> delete_link_error;

  // The ifindex the next create_bridge/create_veth returns; each create takes one.
  int next_index = 100;

  // Every call in order: "links", "link eth0", "addresses 2", "routes 10 254" (family, table),
  //   "create_bridge br0 mtu=1500"
  //   "create_veth vethab12 eth0 master=3 mtu=1500" (+ " mac=02:..." when set, " down" when !host_up)
  //   "set_link 5 up" / "set_link 5 down" (+ " arp_notify", " no_ipv6_link_local")
  //   "add_address 5 10.89.0.5/24", "add_address 5 fd00::5/64 nodad" (nodad shown for IPv6 only)
  //   "add_route 0.0.0.0/0 via 10.89.0.1", "add_route 10.89.0.0/24 oif=5 mtu=1400"
  //     (the default route as 0.0.0.0/0 or ::/0; oif= and mtu= when not 0)
  //   "delete_link 5"
  std::vector<std::string> calls() const;

  Result<std::vector<Link>> links() override;
  Result<Link> link(std::string_view name) override;
  Result<std::vector<Address>> addresses(int family = AF_UNSPEC) override;
  Result<std::vector<Route>> routes(int family = AF_UNSPEC, std::uint32_t table = kTableMain) override;
  Result<int> create_bridge(const BridgeRequest& req) override;
  Result<int> create_veth(const VethRequest& req) override;
  Status set_link(const LinkChange& change) override;
  Status add_address(const AddressRequest& req) override;
  Status add_route(const RouteRequest& req) override;
  Status delete_link(int index) override;

 private:
  bool has_link_locked(std::string_view name) const;

  mutable std::mutex mu_;
  std::vector<std::string> calls_;
};

}  // namespace podns::net
