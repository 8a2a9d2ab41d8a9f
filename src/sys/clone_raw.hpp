// Async-signal-safe clone for code already running in a helper child (no Result, no allocation):
// clone3 when `use_clone3` (asked before: use_clone3() in the parent, or have_clone3(), which is
// safe anywhere), the classic clone syscall otherwise or where clone3 turns out to be missing.
// Returns the child's pid in the parent, 0 in the child, -1 with errno set on failure. fork
// semantics (no new stack).
#pragma once

#include <cstdint>

namespace podns::sys {

long raw_clone(uint64_t flags, bool use_clone3) noexcept;

// Whether clones should use clone3: the kernel has it and no test made it fail (fault::kClone3).
// Not async-signal-safe: a helper asks before it clones its child and hands the answer down.
[[nodiscard]] bool use_clone3();

}  // namespace podns::sys
