#include "podns/net/types.hpp"

#include <net/if.h>

#include <fmt/format.h>

namespace podns::net {

std::string_view to_string(OperState state) {
  switch (state) {
    case OperState::unknown: return "UNKNOWN";
    case OperState::notpresent: return "NOTPRESENT";
    case OperState::down: return "DOWN";
    case OperState::lowerlayerdown: return "LOWERLAYERDOWN";
    case OperState::testing: return "TESTING";
    case OperState::dormant: return "DORMANT";
    case OperState::up: return "UP";
  }
  return "UNKNOWN";
}

bool Link::is_up() const noexcept { return flags & IFF_UP; }
bool Link::is_loopback() const noexcept { return flags & IFF_LOOPBACK; }

std::string Address::cidr() const { return fmt::format("{}/{}", address, prefix_len); }

std::string Route::destination() const {
  if (dst_len == 0) return "default";
  return fmt::format("{}/{}", dst, dst_len);
}

}  // namespace podns::net
