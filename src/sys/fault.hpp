// Fault injection: named points where a test makes this process fail the way a crash or the
// kernel would, but will not on demand: SIGKILL between two steps of a pod operation, EBUSY from
// umount, EINTR from a read on a pipe. Nothing is installed in production, where a point costs one
// relaxed atomic load. A handler can only come from code linked into the process: tests install
// one in-process (fault::Scoped), and the CLI crash tests run `podns-faulty`, a test-only build of
// the CLI (tests/support/faulty_cli/) whose extra object installs one from its environment.
// libpodns and the installed `podns` read no variable, file or flag that turns a fault on.
#pragma once

#include <functional>
#include <string_view>

namespace podns::sys::fault {

// The syscall points (src/sys/io.hpp, mount.hpp and nsfs.hpp); crash points are named by the operation
// ("create.pinned", "rm.unpinned": docs/pod.md lists them).
inline constexpr std::string_view kUmount = "sys.umount";
inline constexpr std::string_view kMount = "sys.mount";
inline constexpr std::string_view kSetns = "sys.setns";
inline constexpr std::string_view kUnshare = "sys.unshare";
inline constexpr std::string_view kRead = "sys.read";
inline constexpr std::string_view kWrite = "sys.write";
inline constexpr std::string_view kSend = "sys.send";
inline constexpr std::string_view kRecv = "sys.recv";
// Any error here makes every clone of the process take the fallback for kernels without clone3
// (asked in the parent before the clone: a child never reaches a point).
inline constexpr std::string_view kClone3 = "sys.clone3";

// What a handler wants at a point.
struct Decision {
  bool crash = false;  // SIGKILL the process here (crash points)
  int error = 0;       // fail the call with this errno (syscall points); 0: make the call
};

// Called at every point, on whichever thread reaches it: must be thread-safe. It may allocate and
// lock, so no point is ever placed in a child cloned from a threaded parent.
using Handler = std::function<Decision(std::string_view point)>;

// Install `handler` for the whole process; an empty one uninstalls. A call already inside the
// previous handler finishes with it.
void install(Handler handler);

// A point between two steps of an operation: the process SIGKILLs itself when the handler asks,
// exactly as a crash or `kill -9` would stop it there.
void crash_point(std::string_view name);

// A syscall site: the errno the handler wants the call to fail with, or 0 to make it.
[[nodiscard]] int injected_error(std::string_view name);

// Installs a handler for its lifetime and uninstalls it after (tests).
class Scoped {
 public:
  explicit Scoped(Handler handler) { install(std::move(handler)); }
  ~Scoped() { install({}); }
  Scoped(const Scoped&) = delete;
  Scoped& operator=(const Scoped&) = delete;
};

}  // namespace podns::sys::fault
