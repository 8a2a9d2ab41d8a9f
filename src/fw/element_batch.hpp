// The per-pod hot path: forward-map elements removed and added in ONE nf_tables transaction built
// with libnftnl (no nft parser, no cache): one message per element, so a failure names its forward.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "fw/nfnl.hpp"
#include "fw/validate.hpp"
#include "podns/error.hpp"

namespace podns::fw {

// How an element is removed. NFT_MSG_DESTROYSETELEM (Linux 6.3+) succeeds when the element is
// absent; older kernels answer EINVAL to the unknown message type, and then DELSETELEM is used,
// dropping the elements it reports absent (ENOENT) and sending the rest again.
enum class RemoveMode : std::uint8_t { destroy, del };

// What this process learnt about the kernel (the first update probes by trying destroy).
RemoveMode process_remove_mode();

// Removes `remove` (absent ones are fine) then adds `add` (NLM_F_CREATE|NLM_F_EXCL) in table inet
// `table`, all or nothing. Errc::already_exists when an added key is there (and not removed in the
// same call), Errc::not_found when the table or a map is missing; other errors as errno. `mode`
// is updated when the kernel turns out to lack destroy.
[[nodiscard]] Status write_elements(NfnlSocket& sock, const std::string& table, std::span<const CheckedForward> add,
                                    std::span<const CheckedForward> remove, RemoveMode& mode);

}  // namespace podns::fw
