#include "net/netns_socket.hpp"

#include "net/netlink_socket.hpp"
#include "podns/run_in_ns.hpp"

namespace podns::net::detail {

Result<UniqueFd> route_socket_in(const Namespace& netns) {
  return run_in_namespace(netns, [] { return open_route_socket(); });
}

}  // namespace podns::net::detail
