// Switching the calling thread into a namespace and back: the primitives run_in_namespace and
// create_pinned share. Only per-thread types (net, ipc, uts, cgroup, pid_for_children) may be
// switched this way.
#pragma once

#include <string_view>

#include "podns/error.hpp"
#include "podns/fd.hpp"
#include "podns/namespace_type.hpp"

namespace podns::detail {

// Whether a switch back failed on this thread, leaving it in a namespace it did not start in
// (podns::thread_is_stranded).
bool thread_stranded() noexcept;

// The calling thread's current namespace of `info`'s type (the one setns would replace), and
// whether the thread could switch back into it. Not when it is owned by a user namespace above
// ours: a rootless podns inside its session (a user namespace) is in the host's netns, owned by
// the initial user namespace, where it has no capabilities.
struct Home {
  UniqueFd fd;
  bool can_return = true;
};
Home open_home(const NamespaceInfo& info);

// Switches the calling thread back into `home`: restore() does it and says how it went; the
// destructor does it when restore() was not called (the body threw). A failed switch back marks
// the thread stranded (thread_stranded()) and, from restore(), is Errc::thread_stranded. It never
// aborts the process: a runtime that links podns decides what to do with the thread.
class ThreadNamespaceSwitch {
 public:
  ThreadNamespaceSwitch(UniqueFd home, NamespaceType type) : home_(std::move(home)), type_(type) {}
  ~ThreadNamespaceSwitch() { (void)restore(); }
  ThreadNamespaceSwitch(const ThreadNamespaceSwitch&) = delete;
  ThreadNamespaceSwitch& operator=(const ThreadNamespaceSwitch&) = delete;

  [[nodiscard]] Status restore();

 private:
  UniqueFd home_;  // empty once restored (or given up)
  NamespaceType type_;
};

}  // namespace podns::detail
