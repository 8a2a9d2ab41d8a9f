// Reading the kernel's tables back with libnftnl dumps (not on the hot path).
#pragma once

#include <string>

#include "fw/nfnl.hpp"
#include "podns/error.hpp"
#include "podns/fw/firewall.hpp"

namespace podns::fw {

// Table inet `table` as it is now: present, complete (every chain of layout::kChains, the bridges
// set, the four maps with the key and data lengths podns writes), the bridges set's elements, and
// every element of the forward maps (sorted). Rules are not compared one by one: a rule deleted by
// hand inside a chain is not noticed; `podns network reload` (sync) rebuilds everything.
[[nodiscard]] Result<Installed> read_installed(NfnlSocket& sock, const std::string& table);

}  // namespace podns::fw
