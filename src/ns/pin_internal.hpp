// Internals of pinning exposed to tests: the races and failures a real kernel will not produce on
// demand, each behind a hook that runs at the one moment that matters. Not installed.
#pragma once

#include <functional>

#include "podns/pin.hpp"

namespace podns::detail {

// attach() with `after_bind` run between binding the pins and checking the pidfd: a test kills the
// process there to exercise "the process died during attach".
[[nodiscard]] Result<std::vector<PinnedNamespace>> attach_with_hook(const Paths& paths, std::string_view name,
                                                                    pid_t pid, std::span<const NamespaceType> types,
                                                                    const std::function<void()>& after_bind);

// bind_pin() with `after_create` run between creating (and locking) the pin file and mounting onto
// it: a test swaps the path for a symlink or another file there.
[[nodiscard]] Status bind_pin_with_hook(const std::string& source, const std::string& pin_path,
                                        const std::function<void()>& after_create);

// remove_pin() with `before_unmount` run once, between finding a namespace mounted at the path and
// unmounting it: a test swaps the pin for a file that is no pin, or mounts something over it.
[[nodiscard]] Status remove_pin_with_hook(const std::string& pin_path, const std::string& base_dir,
                                          const std::function<void()>& before_unmount);

// create_pinned() with `after_unshare` run on the unsharing thread right after unshare(), before it
// switches back (only when the namespaces are unshared on the caller's own thread): a test drops
// CAP_SYS_ADMIN there so that switching back fails.
[[nodiscard]] Result<std::vector<PinnedNamespace>> create_pinned_with_hook(const Paths& paths,
                                                                           std::span<const NamespaceType> types,
                                                                           std::string_view name,
                                                                           const std::function<void()>& after_unshare);

}  // namespace podns::detail
