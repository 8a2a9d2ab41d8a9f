// Closing ranges of fds in a child before it execs or lingers: async-signal-safe (system calls
// only), for code running in a copy of a possibly multi-threaded process.
#pragma once

namespace podns::sys {

// Closes every open fd in [lo, hi]: close_range(2) (Linux 5.9+), else one close(2) per fd up to
// the fd limit.
void close_fds(unsigned lo, unsigned hi) noexcept;

}  // namespace podns::sys
