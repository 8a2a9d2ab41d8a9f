// Naming rules shared by pins, pods, networks and container ids.
#pragma once

#include <string_view>

#include "podns/error.hpp"

namespace podns {

// Pod and namespace names: ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$, at most 64 bytes (the CNI container-ID
// rule), so a name is always a safe single path component.
inline constexpr std::size_t kMaxNameLength = 64;
Status validate_name(std::string_view name);

// Network interface names: 1..15 bytes (IFNAMSIZ - 1), not "." or "..", no '/', ':' or whitespace.
inline constexpr std::size_t kMaxIfnameLength = 15;
Status validate_ifname(std::string_view name);

// A random name in the style of CNI's netns pins: "cni-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx".
std::string random_pin_name(std::string_view prefix = "cni");

}  // namespace podns
