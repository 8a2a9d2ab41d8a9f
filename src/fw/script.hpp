// The nft script of the whole table: what sync() hands libnftables and ruleset_text() shows.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "fw/validate.hpp"
#include "podns/error.hpp"
#include "podns/fw/firewall.hpp"

namespace podns::fw {

struct CheckedRuleset {
  std::vector<CheckedNetwork> networks;
  std::vector<CheckedForward> forwards;
};
[[nodiscard]] Result<CheckedRuleset> check_ruleset(const Ruleset& rs);

// `add table` + `delete table` (so a missing table is no error) + the table, in one script that
// libnftables loads as one transaction. No networks: only the first two lines (the table goes).
std::string script_text(std::string_view table, const CheckedRuleset& rs);

}  // namespace podns::fw
