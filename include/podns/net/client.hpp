// net::Client: read a network namespace's links, addresses, routes and link counters over
// rtnetlink (libmnl underneath).
//
// A netlink socket belongs to the netns it was created in, for its whole life, whatever thread
// later uses it. So open_netlink_client_in() enters the pod's netns once, on a short-lived thread
// of its own, creates the socket there and comes back; every later query goes to that netns from
// any thread, with no setns per query. The socket holds a reference on the netns: while a Client
// is open the netns lives on even after its pin is removed, so close clients of removed pods.
//
// The real client serializes requests on one socket with a mutex, so one Client may be shared by
// threads.
#pragma once

#include <sys/socket.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "podns/error.hpp"
#include "podns/fd.hpp"
#include "podns/namespace.hpp"
#include "podns/net/link_request.hpp"
#include "podns/net/types.hpp"

namespace podns::net {

class Client {
 public:
  virtual ~Client() = default;

  // Every link with its counters (one RTM_GETLINK dump), in ifindex order.
  [[nodiscard]] virtual Result<std::vector<Link>> links() = 0;
  // One link by name (the kernel looks it up; no dump). Errc::not_found when there is none,
  // Errc::invalid_name for a name no interface can have.
  [[nodiscard]] virtual Result<Link> link(std::string_view name) = 0;
  // Addresses of every link; family AF_INET, AF_INET6 or AF_UNSPEC for both.
  [[nodiscard]] virtual Result<std::vector<Address>> addresses(int family = AF_UNSPEC) = 0;
  // Routes of one table (kTableMain by default, as `ip route` shows; kAllTables for all).
  [[nodiscard]] virtual Result<std::vector<Route>> routes(int family = AF_UNSPEC,
                                                          std::uint32_t table = kTableMain) = 0;

  // --- Changes (the native network driver). Each is one request and its ack. ---
  // A new bridge; its ifindex. Errc::already_exists when a link of that name exists.
  [[nodiscard]] virtual Result<int> create_bridge(const BridgeRequest& req) = 0;
  // A veth pair in one RTM_NEWLINK (link_request.hpp); the host end's ifindex.
  // Errc::already_exists when the host name (or the peer name inside the pod) is taken.
  [[nodiscard]] virtual Result<int> create_veth(const VethRequest& req) = 0;
  [[nodiscard]] virtual Status set_link(const LinkChange& change) = 0;
  // Errc::already_exists when the link has that address already.
  [[nodiscard]] virtual Status add_address(const AddressRequest& req) = 0;
  // Errc::already_exists when the same route exists.
  [[nodiscard]] virtual Status add_route(const RouteRequest& req) = 0;
  // Errc::not_found when there is no such link.
  [[nodiscard]] virtual Status delete_link(int index) = 0;
};

// A client for the caller's current network namespace (that of the calling thread).
[[nodiscard]] Result<std::unique_ptr<Client>> open_netlink_client();

// A client whose socket lives in the network namespace pinned at `netns_path` (a bind-mounted nsfs
// file such as /run/netns/web, or /proc/PID/ns/net). Errc::not_a_namespace / wrong_namespace_type
// when the path is not a network namespace.
[[nodiscard]] Result<std::unique_ptr<Client>> open_netlink_client_in(const std::string& netns_path);
// Same, for a netns handle or fd the caller already holds (it is only borrowed).
[[nodiscard]] Result<std::unique_ptr<Client>> open_netlink_client_in(const Namespace& netns);
[[nodiscard]] Result<std::unique_ptr<Client>> open_netlink_client_in(FdView netns_fd);

}  // namespace podns::net
