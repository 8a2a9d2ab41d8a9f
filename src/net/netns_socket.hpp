// Creating a netlink socket inside another network namespace without moving the caller: a
// short-lived thread enters the netns (setns on a thread changes only that thread), creates the
// socket and exits. The socket stays bound to that netns for its whole life.
#pragma once

#include <string>

#include "podns/error.hpp"
#include "podns/fd.hpp"

namespace podns::net::detail {

// Open `path` and check it is a network namespace (nsfs, NS_GET_NSTYPE == CLONE_NEWNET).
[[nodiscard]] Result<UniqueFd> open_netns(const std::string& path);
// Check that a borrowed fd refers to a network namespace.
[[nodiscard]] Status check_netns_fd(FdView fd);
// A NETLINK_ROUTE socket created inside the netns of `netns_fd`.
[[nodiscard]] Result<UniqueFd> route_socket_in(FdView netns_fd);

}  // namespace podns::net::detail
