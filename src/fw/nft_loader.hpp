// Loading an nft script through libnftables: the parser, the cache and one netlink batch, so the
// whole script is one transaction. Output and errors go to buffers: the library never prints.
#pragma once

#include <string>

#include "podns/error.hpp"

namespace podns::fw {

// Runs `script` (commands and/or a table block) on a fresh context. The context's own netlink
// socket lives in the calling thread's netns, for the duration of the call only (libnftables opens
// it without SOCK_CLOEXEC, so it is not kept).
// Errors: the errno the kernel gave when libnftables' message names one (EPERM, ENOENT, ...),
// Errc::invalid_argument for anything else (a syntax or evaluation error); the message is
// libnftables' text, one line.
[[nodiscard]] Status load_nft_script(const std::string& script);

// libnftables' multi-line error text as one line with its errno (tests see the mapping).
Error nft_error(const std::string& text);

}  // namespace podns::fw
