// The one way podns reads a file: configs, caches, state written by others, /proc. Bounded (a
// file larger than the caller expects is an error, not a memory hog), never blocks on a FIFO or
// device planted in a file's place, and its fd is close-on-exec from birth, so a child started
// by another thread meanwhile never inherits it (which std::ifstream cannot promise).
#pragma once

#include <cstddef>
#include <string>

#include "podns/error.hpp"

namespace podns {

// The whole content of the regular file at `path`, at most `max_bytes`. Opened O_NONBLOCK so a
// FIFO planted in its place cannot hang the caller; a non-regular file or one larger than
// `max_bytes` fails with `bad_file` (callers choose: invalid_argument for a config the user wrote,
// corrupt for a cache entry podns wrote). Open/read failures carry the errno.
[[nodiscard]] Result<std::string> read_regular_file(const std::string& path, std::size_t max_bytes,
                                                    Errc bad_file = Errc::invalid_argument);

// The last `max_bytes` bytes of the regular file at `path` (all of it when smaller): the end of a
// helper's log, whatever its size. Same open and refusals as read_regular_file.
[[nodiscard]] Result<std::string> read_file_tail(const std::string& path, std::size_t max_bytes,
                                                 Errc bad_file = Errc::invalid_argument);

}  // namespace podns
