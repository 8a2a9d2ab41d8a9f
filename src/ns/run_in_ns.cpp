// run_in_namespace: setns on the calling thread and back, or on a dedicated thread for mnt.
#include "podns/run_in_ns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <exception>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "ns/thread_ns.hpp"

namespace podns::detail {

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

ThreadNamespaceSwitch::~ThreadNamespaceSwitch() {
  if (::setns(home_.get(), namespace_info(type_).clone_flag) < 0) die_in_wrong_namespace(type_, errno);
}

namespace {

// The pidfs ioctls (Linux 6.11) hand out a task's namespace without a /proc path walk, which is
// most of the cost of a switch; probed once, /proc/thread-self/ns/* is the fallback.
constexpr unsigned kPidfdThread = O_EXCL;  // PIDFD_THREAD (Linux 6.9)
constexpr unsigned long pidfs_ioctl(unsigned nr) { return (0xFFul << 8) | nr; }  // _IO(PIDFS_IOCTL_MAGIC, nr)
unsigned long pidfs_request(NamespaceType t) {
  switch (t) {
    case NamespaceType::cgroup: return pidfs_ioctl(1);
    case NamespaceType::ipc: return pidfs_ioctl(2);
    case NamespaceType::net: return pidfs_ioctl(4);
    case NamespaceType::pid: return pidfs_ioctl(6);  // pid_for_children: what setns(pid) changes
    case NamespaceType::uts: return pidfs_ioctl(10);
    default: return 0;
  }
}

// This thread's own pidfd, opened on first use and closed when the thread exits.
int thread_pidfd() {
  thread_local UniqueFd fd = [] {
    long r = ::syscall(SYS_pidfd_open, ::gettid(), kPidfdThread);
    return UniqueFd(r < 0 ? -1 : static_cast<int>(r));
  }();
  return fd.get();
}

std::atomic<bool> pidfs_ioctls_work{true};

// NS_GET_USERNS answers EPERM exactly when `home` is owned by a user namespace above ours ("outside
// of the caller's namespace scope"): a rootless podns inside its session is in the host's netns,
// owned by the initial user namespace, where it has no capabilities.
bool check_can_return(int home_fd) {
  int owner = ::ioctl(home_fd, NS_GET_USERNS);
  if (owner < 0) return errno != EPERM;  // ENOTTY (kernel < 4.9): let setns report it
  ::close(owner);
  return true;
}

// nsfs drops a namespace's dentry and inode as soon as its last open file closes, so a fresh fd
// on the home namespace allocates both again on every switch (most of the remaining cost). Each
// thread keeps one extra fd on the namespace it was last found in: this only keeps that dentry
// warm. It is replaced whenever the thread turns out to be elsewhere, so the reference it holds
// is to a namespace the thread was in at its last switch, released when the thread exits. The
// same entry remembers whether the thread could switch back into it, so the common case costs
// one fstat.
struct WarmHome {
  UniqueFd fd;
  ino_t ino = 0;
  bool can_return = true;
};

Home remember(NamespaceType type, UniqueFd fd) {
  thread_local std::array<WarmHome, 8> warm;
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) < 0) return {std::move(fd), true};  // let setns report it
  WarmHome& w = warm[static_cast<size_t>(type)];
  if (!w.fd || w.ino != st.st_ino) {
    w.fd.reset(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0));
    w.ino = st.st_ino;
    w.can_return = check_can_return(fd.get());
  }
  return {std::move(fd), w.can_return};
}

}  // namespace

Home open_home(const NamespaceInfo& info) {
  if (pidfs_ioctls_work.load(std::memory_order_relaxed)) {
    int pidfd = thread_pidfd();
    unsigned long req = pidfs_request(info.type);
    if (pidfd >= 0 && req) {
      int fd = ::ioctl(pidfd, req, 0);
      if (fd >= 0) return remember(info.type, UniqueFd(fd));
      if (errno == ENOTTY || errno == EINVAL || errno == EOPNOTSUPP) pidfs_ioctls_work = false;
    } else if (pidfd < 0) {
      pidfs_ioctls_work = false;
    }
  }
  std::string entry = fmt::format("/proc/thread-self/ns/{}", info.pin_entry);
  return remember(info.type, UniqueFd(::open(entry.c_str(), O_RDONLY | O_CLOEXEC)));
}

namespace {

Status run_on_new_thread(const Namespace& ns, const std::function<void()>& body);

Status run_on_this_thread(const Namespace& ns, const std::function<void()>& body) {
  const NamespaceInfo& info = ns.info();
  Home home = open_home(info);
  if (!home.fd) return fail_errno(fmt::format("enter {} namespace: open the current one", info.name));
  // No way back: run on a thread of its own that exits instead of switching back (as CNI's
  // ns.Do abandons a goroutine's thread that could not restore its namespace).
  if (!home.can_return) return run_on_new_thread(ns, body);
  if (::setns(ns.fd().get(), info.clone_flag) < 0)
    return fail_errno(fmt::format("enter {} namespace: setns", info.name));
  ThreadNamespaceSwitch back(std::move(home.fd), ns.type());
  body();
  return {};
}

// Mount namespaces: setns needs an unshared fs_struct and resets root and cwd; do it on a thread
// of its own that then exits, so the caller's thread keeps sharing root/cwd with its siblings.
// Also any type whose home namespace this thread could not return to (can_return_to).
Status run_on_new_thread(const Namespace& ns, const std::function<void()>& body) {
  Status result;
  std::exception_ptr thrown;
  auto work = [&] {
    const NamespaceInfo& info = ns.info();
    if (ns.type() == NamespaceType::mnt && ::unshare(CLONE_FS) < 0) {
      result = fail_errno("enter mnt namespace: unshare CLONE_FS");
      return;
    }
    if (::setns(ns.fd().get(), info.clone_flag) < 0) {
      result = fail_errno(fmt::format("enter {} namespace: setns", info.name));
      return;
    }
    try {
      body();
    } catch (...) {
      thrown = std::current_exception();
    }
  };
  try {
    std::thread worker(work);
    worker.join();
  } catch (const std::system_error& e) {  // EAGAIN: out of threads (RLIMIT_NPROC, threads-max)
    return fail_errno(e.code().value(), fmt::format("enter {} namespace: start a thread", ns.info().name));
  }
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
