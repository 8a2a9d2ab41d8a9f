// Run a callable inside a namespace and come back (CNI's ns.Do / ns.WithNetNSPath).
//
// net, ipc, uts, cgroup and pid: setns() on the calling thread, run, setns() back; the caller's
// other threads are never affected (these namespaces are per thread). For pid only the thread's
// future children land in the namespace (pid_for_children).
// mnt: on a short-lived dedicated thread that first unshares CLONE_FS (setns into a mount namespace
// needs an unshared fs_struct and resets root and cwd, which must not leak to the caller's thread).
// user and time: refused with Errc::wrong_thread_model (the kernel refuses a multi-threaded caller
// with EINVAL / EUSERS); use a single-threaded helper process (ns/spawn).
//
// The way back: the thread's current namespace is opened afresh on every call (through the thread's
// pidfd), so the thread returns to wherever it was, also if the caller moved it with setns itself.
// podns keeps no reference to any namespace a thread entered or came from: once a pod's netns is
// unpinned it goes (with its veths and addresses), whatever threads ran inside it before. The one
// namespace fd podns holds for the life of the process is on each type of the process's own
// namespace (/proc/self/ns/*), which makes each switch cheaper; it is taken only when it is the
// namespace the switching thread is at home in and that thread is inside no body, so a main
// thread that sits in a pod's namespace at that moment never makes podns hold it.
//
// If switching back fails (the body dropped CAP_SYS_ADMIN, say), the thread is in the wrong
// namespace. podns does not abort its host: it marks the thread stranded and returns
// Errc::thread_stranded (after an exception from the body, the exception goes on and the thread is
// marked the same way). From then on every run_in_namespace on that thread, of any type, fails with
// Errc::thread_stranded, create_pinned does its unsharing on a thread of its own, and
// thread_is_stranded() says so. The caller must retire the thread (let it exit): whatever else runs
// on it acts in the namespace it was left in. Where podns can tell in advance that it could not
// come back (a rootless podns in the host's netns), the body runs on a throwaway thread instead.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "podns/error.hpp"
#include "podns/namespace.hpp"

namespace podns {

namespace detail {
// Enter `ns` as described above, run `body`, come back. An exception from body is rethrown on the
// calling thread after the namespace was restored.
[[nodiscard]] Status run_in_namespace_impl(const Namespace& ns, const std::function<void()>& body);

template <class T>
struct is_result : std::false_type {};
template <class T>
struct is_result<std::expected<T, Error>> : std::true_type {};
}  // namespace detail

// Whether a failed switch back left the calling thread in a namespace it did not start in (see
// above). Such a thread stays that way: retire it.
[[nodiscard]] bool thread_is_stranded() noexcept;

// Returns Result<R> for a callable returning R; a callable that itself returns a Result<T> (or
// Status) gets it back as is, with the entering failure in the same channel.
template <class F>
auto run_in_namespace(const Namespace& ns, F&& fn) {
  using R = std::invoke_result_t<F&>;
  if constexpr (std::is_void_v<R>) {
    return detail::run_in_namespace_impl(ns, [&] { fn(); });
  } else if constexpr (detail::is_result<R>::value) {
    std::optional<R> out;
    Status st = detail::run_in_namespace_impl(ns, [&] { out.emplace(fn()); });
    if (!st) return R(std::unexpected(std::move(st.error())));
    return std::move(*out);
  } else {
    std::optional<R> out;
    Status st = detail::run_in_namespace_impl(ns, [&] { out.emplace(fn()); });
    if (!st) return Result<R>(std::unexpected(std::move(st.error())));
    return Result<R>(std::move(*out));
  }
}

// Open `path` (checking it is a namespace of `type` when given) and run `fn` inside it.
template <class F>
auto run_in_namespace_path(const std::string& path, std::optional<NamespaceType> type, F&& fn)
    -> decltype(run_in_namespace(std::declval<const Namespace&>(), std::forward<F>(fn))) {
  auto ns = Namespace::open_path(path, type);
  if (!ns) return std::unexpected(std::move(ns.error()));
  return run_in_namespace(*ns, std::forward<F>(fn));
}

}  // namespace podns
