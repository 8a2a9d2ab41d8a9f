// Internals of pin creation exposed to tests (the race a real kernel will not produce on demand).
#pragma once

#include <functional>

#include "podns/pin.hpp"

namespace podns::detail {

// attach() with `after_bind` run between binding the pins and checking the pidfd: a test kills the
// process there to exercise "the process died during attach".
[[nodiscard]] Result<std::vector<PinnedNamespace>> attach_with_hook(const Paths& paths, std::string_view name,
                                                                    pid_t pid, std::span<const NamespaceType> types,
                                                                    const std::function<void()>& after_bind);

}  // namespace podns::detail
