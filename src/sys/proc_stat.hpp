// /proc/PID/stat: the one field podns needs from it, the start time. A pid alone may name a later
// process once the first one is reaped; a pid and the start time name one process for good (a
// process reusing the pid starts later), so a holder recorded by both is found again by both.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string_view>

#include "podns/error.hpp"

namespace podns::sys {

// Field 22 of a /proc/PID/stat line, "starttime": clock ticks after boot. The comm in field 2 may
// hold spaces and parentheses, so fields are counted from the last ')'. Errc::corrupt otherwise.
[[nodiscard]] Result<uint64_t> parse_stat_start_time(std::string_view stat);

// The start time of process `pid` (errno ENOENT when there is none).
[[nodiscard]] Result<uint64_t> process_start_time(pid_t pid);

}  // namespace podns::sys
