// Client of slirp4netns's API socket (--api-socket): one JSON request per connection, the write
// side shut so slirp4netns sees the end of the request, then one JSON reply holding either
// "return" or "error": {"desc": ...}.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "podns/error.hpp"
#include "podns/rootless/driver.hpp"

namespace podns::rootless::detail {

inline constexpr std::chrono::milliseconds kApiTimeout{5000};

// Send `request`, return the value of "return" (Errc::plugin_failed with the helper's "desc" on
// "error", Errc::corrupt on a reply that is neither, Errc::timed_out past the deadline).
Result<nlohmann::json> slirp_api_call(const std::string& socket_path, const nlohmann::json& request,
                                      std::chrono::milliseconds timeout = kApiTimeout);

// add_hostfwd: returns the id slirp4netns assigned.
Result<int> slirp_add_hostfwd(const std::string& socket_path, const PortForward& f);
Status slirp_remove_hostfwd(const std::string& socket_path, int id);
Result<std::vector<PortForward>> slirp_list_hostfwd(const std::string& socket_path);

// The longest path a sockaddr_un holds (107 bytes plus the NUL).
bool fits_sockaddr_un(const std::string& path);

}  // namespace podns::rootless::detail
