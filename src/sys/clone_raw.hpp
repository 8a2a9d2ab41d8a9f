// Async-signal-safe clone for code already running in a helper child (no Result, no allocation):
// clone3 where the kernel has it, the classic clone syscall otherwise. Returns the child's pid in
// the parent, 0 in the child, -1 with errno set on failure. fork semantics (no new stack).
#pragma once

#include <cstdint>

namespace podns::sys {

long raw_clone(uint64_t flags, bool force_fallback) noexcept;

}  // namespace podns::sys
