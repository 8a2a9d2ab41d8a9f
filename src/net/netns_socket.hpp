// Creating a netlink socket inside another network namespace without moving the caller: a
// short-lived thread enters the netns (setns on a thread changes only that thread), creates the
// socket and exits. The socket stays bound to that netns for its whole life.
//
// Not ns/'s run_in_namespace(): that enters on the *calling* thread and must switch back (aborting
// the process if it cannot). A thread of our own that simply ends never needs to switch back, and
// the caller's thread (maybe one of a pool) never leaves its netns even for a moment.
#pragma once

#include "podns/error.hpp"
#include "podns/fd.hpp"

namespace podns::net::detail {

// A NETLINK_ROUTE socket created inside the netns of `netns_fd` (checked by the caller).
[[nodiscard]] Result<UniqueFd> route_socket_in(FdView netns_fd);

}  // namespace podns::net::detail
