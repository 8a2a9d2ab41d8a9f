// Client of slirp4netns's API socket (--api-socket): one JSON request per connection, the write
// side shut so slirp4netns sees the end of the request, then one JSON reply holding either
// "return" or "error": {"desc": ...}.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
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

// The parts of the calls above that read what slirp4netns sent (a helper of the user's, so not
// to be trusted to be well-formed), apart from the socket so they can be fuzzed.
// The reply to request `op`: the value of "return" (for list_hostfwd also a bare object with
// "entries"); errors as slirp_api_call's, without its context.
Result<nlohmann::json> parse_api_reply(std::string_view op, std::string_view reply);
// add_hostfwd's "return" value: {"id": N}.
Result<int> hostfwd_id_from(const nlohmann::json& ret);
// list_hostfwd's reply: {"entries": [{"id", "proto", "host_addr", "host_port", "guest_port"}...]}.
Result<std::vector<PortForward>> hostfwds_from(const nlohmann::json& ret);

// The longest path a sockaddr_un holds (107 bytes plus the NUL).
bool fits_sockaddr_un(const std::string& path);

}  // namespace podns::rootless::detail
