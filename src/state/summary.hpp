// What `pod ls` and `pod inspect` show of a network attachment, taken out of its CNI ADD result
// once, when the attachment is committed (and by the 1 -> 2 migration for older rows), so listing
// 1000 pods never parses 1000 stored results again.
#pragma once

#include <string>

#include "podns/state/store.hpp"

namespace podns::state {

// The sandbox interface named `ifname` in the result (its MAC) and the IPs on it: entries of "ips"
// whose "interface" index points at it, or that name no interface. A result that is not a JSON
// object gives an empty summary (the CNI layer validated it before it was stored).
AttachmentSummary summarize_cni_result(const std::string& result, const std::string& ifname);

}  // namespace podns::state
