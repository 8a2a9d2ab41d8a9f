// Host sysctls under /proc/sys, read before written: a value that is already right is never
// rewritten (no needless change events, and a read-only /proc/sys is fine when nothing changes).
// /proc/sys/net resolves against the netns of the calling thread.
#pragma once

#include <string>
#include <string_view>

#include "podns/error.hpp"

namespace podns::sys {

// "net.ipv4.ip_forward" or "net/ipv4/conf/eth0.1/forwarding" (a slashed key keeps its dots, as
// sysctl(8) reads it). The value without its trailing newline.
[[nodiscard]] Result<std::string> read_sysctl(std::string_view key);
// Writes `value` unless the sysctl already has it.
[[nodiscard]] Status ensure_sysctl(std::string_view key, std::string_view value);

}  // namespace podns::sys
