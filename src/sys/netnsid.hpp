// The netns id (nsid) a peer network namespace has in ours: RTM_GETNSID over NETLINK_ROUTE, a few
// lines of raw netlink so the ns layer need not depend on net/ (which sits above it).
#pragma once

#include <optional>

#include "podns/error.hpp"
#include "podns/fd.hpp"

namespace podns::sys {

// The nsid of the netns behind `netns_fd` as seen from the caller's netns; nullopt when none is
// assigned (`ip netns set NAME auto` or a veth peer assigns one).
[[nodiscard]] Result<std::optional<int>> netns_get_nsid(FdView netns_fd);

}  // namespace podns::sys
