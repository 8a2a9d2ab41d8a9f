// Switching the calling thread into a namespace and back: the primitives run_in_namespace and
// create_pinned share. Only per-thread types (net, ipc, uts, cgroup) may be switched this way.
#pragma once

#include "podns/fd.hpp"
#include "podns/namespace_type.hpp"

namespace podns::detail {

// Switching back failed: this thread is in the wrong namespace and any code run from here on could
// act on the wrong network, hostname or IPC objects. Terminate instead of continuing.
[[noreturn]] void die_in_wrong_namespace(NamespaceType type, int err);

// The calling thread's current namespace of `info`'s type (the one setns would replace), and
// whether the thread could switch back into it. Not when it is owned by a user namespace above
// ours: a rootless podns inside its session (a user namespace) is in the host's netns, owned by
// the initial user namespace, where it has no capabilities.
struct Home {
  UniqueFd fd;
  bool can_return = true;
};
Home open_home(const NamespaceInfo& info);

// Switches the calling thread back into `home` on destruction (also when the body throws); the
// process aborts if that fails (die_in_wrong_namespace).
class ThreadNamespaceSwitch {
 public:
  ThreadNamespaceSwitch(UniqueFd home, NamespaceType type) : home_(std::move(home)), type_(type) {}
  ~ThreadNamespaceSwitch();
  ThreadNamespaceSwitch(const ThreadNamespaceSwitch&) = delete;
  ThreadNamespaceSwitch& operator=(const ThreadNamespaceSwitch&) = delete;

 private:
  UniqueFd home_;
  NamespaceType type_;
};

}  // namespace podns::detail
