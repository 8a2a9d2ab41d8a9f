// Creating a netlink socket inside another network namespace: run_in_namespace() (ns/) enters it
// on the calling thread, the socket is made, the thread returns to its own netns. The socket stays
// bound to that netns for its whole life. The one way podns enters a netns for a socket (the pod's
// netlink client, its loopback, stats); a thread that cannot switch back gets an error
// (Errc::thread_stranded), not an abort.
#pragma once

#include "podns/error.hpp"
#include "podns/fd.hpp"
#include "podns/namespace.hpp"

namespace podns::net::detail {

// A NETLINK_ROUTE socket created inside `netns` (a network namespace: checked by the caller).
[[nodiscard]] Result<UniqueFd> route_socket_in(const Namespace& netns);

}  // namespace podns::net::detail
