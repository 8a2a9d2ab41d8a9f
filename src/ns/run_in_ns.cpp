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
#include <cstring>
#include <exception>
#include <mutex>
#include <new>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "ns/thread_ns.hpp"
#include "sys/nsfs.hpp"

namespace podns::detail {
namespace {

thread_local bool t_stranded = false;

}  // namespace

bool thread_stranded() noexcept { return t_stranded; }

Status ThreadNamespaceSwitch::restore() {
  if (!home_) return {};
  UniqueFd home = std::move(home_);
  const NamespaceInfo& info = namespace_info(type_);
  if (sys::setns(home.get(), info.clone_flag) == 0) return {};
  // Running on here would act on the wrong network, hostname or IPC objects; aborting would kill
  // the runtime that linked podns. So the thread is marked: podns refuses to work on it from now
  // on, and the caller, told through the error, retires it (see run_in_ns.hpp).
  int err = errno;
  t_stranded = true;
  return fail(Errc::thread_stranded,
              fmt::format("switch back to the original {} namespace (setns: {})", info.name, std::strerror(err)));
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

// This thread's own pidfd, opened on first use and closed when the thread exits. It refers to the
// thread, not to any namespace.
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

// In the initial user namespace every namespace is owned by it or by one of its descendants, and
// the CAP_SYS_ADMIN that setns (or unshare) just needed there covers the way back too: no check
// per switch. The initial user namespace has a fixed inode number (PROC_USER_INIT_INO, include/
// linux/proc_ns.h, since Linux 3.8). Read once: a process can change its user namespace only while
// single-threaded; one that does so after its first switch keeps the first answer, and a wrong
// "initial" only means that a switch back that fails is reported (the thread stranded) where it
// would have been avoided.
bool in_initial_user_namespace() {
  constexpr ino_t kInitialUserNsIno = 0xEFFFFFFDU;
  static const bool initial = [] {
    struct stat st {};
    return ::stat("/proc/self/ns/user", &st) == 0 && st.st_ino == kInitialUserNsIno;
  }();
  return initial;
}

// The process's own namespaces, one fd per type on /proc/self/ns/<entry> (its main thread's),
// held for the life of the process once found. nsfs frees a namespace's dentry and inode as soon
// as its last open file closes, so without one held open every switch would build both anew for
// the home fd it opens (a third of that fd's cost). podns keeps no other namespace reference of
// its own: never one a thread entered, or was in when it switched. (A reference per thread to its
// last home once kept a pod's netns, its veths and so its addresses alive after `pod rm` for as
// long as the thread lived.) So the anchor is taken only when /proc/self/ns/<entry> is the very
// namespace the switching thread is at home in, and that thread is not inside a podns body: the
// main thread sitting in a pod's namespace at that moment (inside a body of its own, say) makes
// no anchor, and a later switch tries again. The way back is kept with it for the rootless case
// (check_can_return is two more syscalls per switch).
struct Anchor {
  UniqueFd fd;
  ino_t ino = 0;
  bool can_return = true;
};

std::array<std::atomic<const Anchor*>, 8> g_anchors{};  // never freed: a thread may switch while the process exits
std::mutex g_anchor_mutex;
thread_local int t_body_depth = 0;  // run_in_namespace bodies running on this thread

const Anchor* anchor_if_taken(const NamespaceInfo& info) {
  return g_anchors[static_cast<size_t>(info.type)].load(std::memory_order_acquire);
}

// Take the anchor of `info`'s type if the process's namespace of that type is `home_ino`, the
// namespace this thread is at home in.
const Anchor* take_anchor(const NamespaceInfo& info, ino_t home_ino) {
  if (t_body_depth > 0) return nullptr;  // the thread's home is a namespace podns entered
  std::lock_guard lock(g_anchor_mutex);
  auto& slot = g_anchors[static_cast<size_t>(info.type)];
  if (const Anchor* a = slot.load(std::memory_order_acquire)) return a;
  std::string entry = fmt::format("/proc/self/ns/{}", info.pin_entry);
  UniqueFd fd(::open(entry.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) < 0 || st.st_ino != home_ino) return nullptr;
  auto* a = new (std::nothrow) Anchor{std::move(fd), st.st_ino, true};
  if (!a) return nullptr;
  a->can_return = check_can_return(a->fd.get());
  slot.store(a, std::memory_order_release);
  return a;
}

UniqueFd open_current(const NamespaceInfo& info) {
  if (pidfs_ioctls_work.load(std::memory_order_relaxed)) {
    int pidfd = thread_pidfd();
    unsigned long req = pidfs_request(info.type);
    if (pidfd >= 0 && req) {
      int fd = ::ioctl(pidfd, req, 0);
      if (fd >= 0) return UniqueFd(fd);
      if (errno == ENOTTY || errno == EINVAL || errno == EOPNOTSUPP) pidfs_ioctls_work = false;
    } else if (pidfd < 0) {
      pidfs_ioctls_work = false;
    }
  }
  std::string entry = fmt::format("/proc/thread-self/ns/{}", info.pin_entry);
  return UniqueFd(::open(entry.c_str(), O_RDONLY | O_CLOEXEC));
}

}  // namespace

Home open_home(const NamespaceInfo& info) {
  Home home{open_current(info), true};
  if (!home.fd) return home;  // let the caller report it
  const Anchor* a = anchor_if_taken(info);
  bool initial = in_initial_user_namespace();
  if (a && initial) return home;  // the common case: no stat, no check
  struct stat st {};
  if (::fstat(home.fd.get(), &st) < 0) return home;  // let setns report it
  if (!a) a = take_anchor(info, st.st_ino);
  if (initial) return home;
  home.can_return = (a && st.st_ino == a->ino) ? a->can_return : check_can_return(home.fd.get());
  return home;
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
  if (sys::setns(ns.fd().get(), info.clone_flag) < 0)
    return fail_errno(fmt::format("enter {} namespace: setns", info.name));
  ThreadNamespaceSwitch back(std::move(home.fd), ns.type());
  struct BodyDepth {
    BodyDepth() { ++t_body_depth; }
    ~BodyDepth() { --t_body_depth; }
  };
  {
    BodyDepth in_body;
    body();  // if it throws, `back` switches back (or strands the thread) and the exception goes on
  }
  if (auto st = back.restore(); !st) return fail_with(st, fmt::format("leave {} namespace", info.name));
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
    if (ns.type() == NamespaceType::mnt && sys::unshare(CLONE_FS) < 0) {
      result = fail_errno("enter mnt namespace: unshare CLONE_FS");
      return;
    }
    if (sys::setns(ns.fd().get(), info.clone_flag) < 0) {
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
  // A new thread would start out in this one's namespaces too: refuse whatever the type.
  if (t_stranded)
    return fail(Errc::thread_stranded,
                fmt::format("enter {} namespace: an earlier switch back failed on this thread", ns.info().name));
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

namespace podns {

bool thread_is_stranded() noexcept { return detail::thread_stranded(); }

}  // namespace podns
