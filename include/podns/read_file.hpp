// Reading small files that may be hostile: configs, caches, state written by others.
#pragma once

#include <cstddef>
#include <string>

#include "podns/error.hpp"

namespace podns {

// The whole content of the regular file at `path`, at most `max_bytes`. Opened O_NONBLOCK so a
// FIFO planted in its place cannot hang the caller; a non-regular file or one larger than
// `max_bytes` fails with `bad_file` (callers choose: invalid_argument for a config the user wrote,
// corrupt for a cache entry podns wrote). Open/read failures carry the errno.
Result<std::string> read_regular_file(const std::string& path, std::size_t max_bytes,
                                      Errc bad_file = Errc::invalid_argument);

}  // namespace podns
