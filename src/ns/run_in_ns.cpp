// run_in_namespace: setns on the calling thread and back, or on a dedicated thread for mnt.
#include "podns/run_in_ns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <thread>

#include <fmt/format.h>

namespace podns::detail {
namespace {

// Switching back failed: this thread is in the wrong namespace and any code run from here on could
// act on the wrong network, hostname or IPC objects. Terminate instead of continuing.
[[noreturn]] void die_in_wrong_namespace(NamespaceType type, int err) {
  std::string msg = fmt::format("podns: fatal: cannot return to the original {} namespace (setns: {}); aborting "
                                "rather than running on in the wrong namespace\n",
                                to_string(type), std::strerror(err));
  ssize_t ignored = ::write(STDERR_FILENO, msg.data(), msg.size());
  (void)ignored;
  std::abort();
}

// Entered on construction by the caller; restores on destruction (also when body throws).
class ThreadNamespaceSwitch {
 public:
  ThreadNamespaceSwitch(UniqueFd home, NamespaceType type) : home_(std::move(home)), type_(type) {}
  ~ThreadNamespaceSwitch() {
    if (::setns(home_.get(), namespace_info(type_).clone_flag) < 0) die_in_wrong_namespace(type_, errno);
  }
  ThreadNamespaceSwitch(const ThreadNamespaceSwitch&) = delete;
  ThreadNamespaceSwitch& operator=(const ThreadNamespaceSwitch&) = delete;

 private:
  UniqueFd home_;
  NamespaceType type_;
};

Status run_on_this_thread(const Namespace& ns, const std::function<void()>& body) {
  const NamespaceInfo& info = ns.info();
  std::string entry = fmt::format("/proc/thread-self/ns/{}", info.pin_entry);
  UniqueFd home(::open(entry.c_str(), O_RDONLY | O_CLOEXEC));
  if (!home) return fail_errno(fmt::format("enter {} namespace: open {}", info.name, entry));
  if (::setns(ns.fd().get(), info.clone_flag) < 0)
    return fail_errno(fmt::format("enter {} namespace: setns", info.name));
  ThreadNamespaceSwitch back(std::move(home), ns.type());
  body();
  return {};
}

// Mount namespaces: setns needs an unshared fs_struct and resets root and cwd; do it on a thread
// of its own that then exits, so the caller's thread keeps sharing root/cwd with its siblings.
Status run_on_new_thread(const Namespace& ns, const std::function<void()>& body) {
  Status result;
  std::exception_ptr thrown;
  std::thread worker([&] {
    if (::unshare(CLONE_FS) < 0) {
      result = fail_errno("enter mnt namespace: unshare CLONE_FS");
      return;
    }
    if (::setns(ns.fd().get(), CLONE_NEWNS) < 0) {
      result = fail_errno("enter mnt namespace: setns");
      return;
    }
    try {
      body();
    } catch (...) {
      thrown = std::current_exception();
    }
  });
  worker.join();
  if (thrown) std::rethrow_exception(thrown);
  return result;
}

}  // namespace

Status run_in_namespace_impl(const Namespace& ns, const std::function<void()>& body) {
  switch (ns.type()) {
    case NamespaceType::user:
    case NamespaceType::time:
      return fail(Errc::wrong_thread_model,
                  fmt::format("enter {} namespace: the kernel refuses a multi-threaded caller; use a "
                              "single-threaded helper process",
                              to_string(ns.type())));
    case NamespaceType::mnt:
      return run_on_new_thread(ns, body);
    default:
      return run_on_this_thread(ns, body);
  }
}

}  // namespace podns::detail
