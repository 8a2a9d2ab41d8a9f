// Pins by name: create new namespaces and pin them, attach a process's namespaces, remove.
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/mount.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <optional>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "ns/pidns_holder.hpp"
#include "ns/thread_ns.hpp"
#include "ns/pin_internal.hpp"
#include "ns/pin_rollback.hpp"
#include "podns/names.hpp"
#include "podns/pin.hpp"
#include "sys/mount.hpp"
#include "sys/nsfs.hpp"
#include "sys/pidfd.hpp"

namespace podns {

Status detail::remove_one_pin(const Paths& paths, NamespaceType type, std::string_view name, const std::string& path) {
  if (type == NamespaceType::pid) {
    if (auto st = detail::stop_pidns_holder(paths, name); !st)
      return fail_with(st, "remove pin " + path);
  }
  return remove_pin(path, pin_dir(paths, type));
}

namespace {

using detail::PinRollback;

Status check_types(std::span<const NamespaceType> types) {
  if (types.empty()) return fail(Errc::invalid_argument, "no namespace type given");
  unsigned seen = 0;
  for (NamespaceType t : types) {
    unsigned bit = 1u << static_cast<unsigned>(t);
    if (seen & bit) return fail(Errc::invalid_argument, fmt::format("namespace type {} given twice", to_string(t)));
    seen |= bit;
  }
  return {};
}

// bind_pin, but a stale leftover of the same name (an empty file a crashed pinner left) is cleaned
// first and the bind retried once.
Status bind_pin_over_stale(const std::string& source, const std::string& path, const std::string& dir) {
  auto st = bind_pin(source, path);
  if (st || !st.error().is(Errc::already_exists)) return st;
  auto stale = remove_if_stale(path, dir);
  if (!stale || !*stale) return fail(Errc::already_exists, fmt::format("pin {}", path));
  return bind_pin(source, path);
}

struct Unshared {
  std::vector<UniqueFd> fds;  // one per requested type, in request order
  Error error;
  bool ok = false;
};

// Opens this thread's entry of each type, in order.
Status open_entries(std::span<const NamespaceType> types, std::vector<UniqueFd>& fds) {
  for (NamespaceType t : types) {
    std::string entry = fmt::format("/proc/thread-self/ns/{}", namespace_info(t).pin_entry);
    UniqueFd fd(::open(entry.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fail_errno("open " + entry);
    fds.push_back(std::move(fd));
  }
  return {};
}

// net, uts and cgroup belong to the thread: unshare them right here and switch straight back, as
// `ip netns add` does. (Not ipc: unsharing it also unshares the thread's System V semaphore undo
// list for good. Not mnt: that needs CLONE_FS, also for good.) A thread of its own costs a clone
// and, on a busy machine, a wait for a CPU, which was most of `podns ns add`. Only when every way
// back is open (Home::can_return; not from inside a rootless session, whose host netns it cannot
// re-enter) and the thread is not stranded already; nullopt otherwise. If switching back fails
// the thread is left stranded (run_in_ns.hpp) and the creation fails: the library never aborts
// its host, and never lets the caller go on unaware in a namespace it made.
std::optional<Unshared> unshare_on_this_thread(std::span<const NamespaceType> types, int flags,
                                               const std::function<void()>& after_unshare) {
  if (detail::thread_stranded()) return std::nullopt;
  std::vector<UniqueFd> homes;
  for (NamespaceType t : types) {
    if (t != NamespaceType::net && t != NamespaceType::uts && t != NamespaceType::cgroup) return std::nullopt;
    detail::Home home = detail::open_home(namespace_info(t));
    if (!home.fd || !home.can_return) return std::nullopt;
    homes.push_back(std::move(home.fd));
  }
  Unshared out;
  if (sys::unshare(flags) < 0) {  // all or nothing: a failed unshare changed nothing
    out.error = Error::from_errno(fmt::format("unshare {:#x}", flags));
    return out;
  }
  std::array<std::optional<detail::ThreadNamespaceSwitch>, 3> back;  // one per type at most
  for (size_t i = 0; i < types.size(); ++i) back[i].emplace(std::move(homes[i]), types[i]);
  if (after_unshare) after_unshare();
  auto opened = open_entries(types, out.fds);
  // Back first, every type even when one fails; then report.
  Status returned;
  for (auto& b : back) {
    if (!b) continue;
    if (auto st = b->restore(); !st && returned) returned = std::move(st);
  }
  if (!returned) {
    out.fds.clear();  // the new namespaces go with their fds (the stranded thread aside)
    out.error = std::move(returned.error());
    return out;
  }
  if (!opened) {
    out.error = std::move(opened.error());
    return out;
  }
  out.ok = true;
  return out;
}

// On a short-lived thread: unshare the namespaces and open each one's pin entry. The thread exits
// with them, so neither the caller's thread nor its process ever changes namespace; the fds keep
// the namespaces alive until they are bound.
Unshared unshare_on_thread(std::span<const NamespaceType> types, int flags, const std::string& mnt_pin_dir) {
  Unshared out;
  auto work = [&] {
    // CLONE_FS: a thread shares its fs_struct (root, cwd) with the others; a mount namespace
    // cannot change under threads that share it (EINVAL), so unshare it for this thread alone.
    int all = flags | ((flags & CLONE_NEWNS) ? CLONE_FS : 0);
    if (sys::unshare(all) < 0) {
      out.error = Error::from_errno(fmt::format("unshare {:#x}", all));
      return;
    }
    if ((flags & CLONE_NEWNS) && !mnt_pin_dir.empty()) {
      // The new mount namespace holds a copy of the shared mnt pin dir; keep its own pin from
      // propagating into itself (a reference cycle that would keep it alive forever). Pinning it
      // anyway would leak the namespace, so a failure here fails the whole creation.
      if (sys::mount("", mnt_pin_dir.c_str(), nullptr, MS_PRIVATE | MS_REC, nullptr) < 0) {
        out.error = Error::from_errno(fmt::format("make {} private in the new mount namespace", mnt_pin_dir));
        return;
      }
    }
    if (auto st = open_entries(types, out.fds); !st) {
      out.error = std::move(st.error());
      return;
    }
    out.ok = true;
  };
  try {
    std::thread worker(work);
    worker.join();
  } catch (const std::system_error& e) {  // EAGAIN: out of threads (RLIMIT_NPROC, threads-max)
    out.error = Error::from_errno(e.code().value(), "start a thread to unshare namespaces");
  }
  return out;
}

}  // namespace

std::string pin_dir(const Paths& paths, NamespaceType type) {
  return type == NamespaceType::net ? paths.netns_dir : paths.ns_dir(to_string(type));
}

std::string pin_path(const Paths& paths, NamespaceType type, std::string_view name) {
  return pin_dir(paths, type) + "/" + std::string(name);
}

Result<std::vector<PinnedNamespace>> detail::create_pinned_with_hook(const Paths& paths,
                                                                     std::span<const NamespaceType> types,
                                                                     std::string_view name,
                                                                     const std::function<void()>& after_unshare) {
  std::string pin_name = name.empty() ? random_pin_name() : std::string(name);
  std::string what = "create namespaces " + pin_name;
  if (auto st = validate_name(pin_name); !st) return fail_with(st, "create namespaces");
  if (auto st = check_types(types); !st) return fail_with(st, what);
  int flags = 0;
  for (NamespaceType t : types) {
    if (t == NamespaceType::user)
      return fail(Errc::unsupported, what + ": a user namespace needs a single-threaded helper (ns/userns)");
    flags |= namespace_info(t).clone_flag;
  }
  std::string mnt_dir;
  for (NamespaceType t : types) {
    std::string dir = pin_dir(paths, t);
    if (auto st = prepare_pin_dir(dir); !st) return fail_with(st, what);
    if (t == NamespaceType::mnt) mnt_dir = dir;
  }

  // pid needs an init to be pinnable (see pidns_holder.hpp); the rest is unshared on a thread.
  std::vector<NamespaceType> thread_types;
  for (NamespaceType t : types)
    if (t != NamespaceType::pid) thread_types.push_back(t);
  int thread_flags = flags & ~CLONE_NEWPID;
  Unshared u;
  if (!thread_types.empty()) {
    auto here = unshare_on_this_thread(thread_types, thread_flags, after_unshare);
    u = here ? std::move(*here) : unshare_on_thread(thread_types, thread_flags, mnt_dir);
    if (!u.ok) return fail(std::move(u.error).context(what));
  }
  std::optional<detail::PidnsHolder> holder;
  struct HolderGuard {
    std::optional<detail::PidnsHolder>& h;
    bool keep = false;
    ~HolderGuard() {
      if (h && !keep) (void)sys::pidfd_signal(h->pidfd.view(), SIGKILL);
    }
  } holder_guard{holder};
  if (flags & CLONE_NEWPID) {
    auto h = detail::start_pidns_holder();
    if (!h) return fail_with(h, what);
    holder = std::move(*h);
  }

  PinRollback rollback(paths);
  size_t next_fd = 0;
  for (NamespaceType t : types) {
    std::string path = pin_path(paths, t, pin_name);
    std::string source = t == NamespaceType::pid ? fmt::format("/proc/{}/ns/pid", holder->pid)
                                                 : fmt::format("/proc/self/fd/{}", u.fds[next_fd++].get());
    if (auto st = bind_pin_over_stale(source, path, pin_dir(paths, t)); !st)
      return fail_with(st, fmt::format("{}: pin {}", what, to_string(t)));
    struct stat sst {};
    int stat_rc = ::stat(path.c_str(), &sst);
    int stat_err = errno;
    // Added before the check: a pin whose identity cannot be read is still ours to roll back.
    rollback.add({t, pin_name, path, NamespaceId{sst.st_dev, sst.st_ino}});
    if (stat_rc < 0) return fail_errno(stat_err, fmt::format("{}: stat pin {}", what, path));
  }
  if (holder) {
    // The holder was alive when its pidfd was taken; still alive now means /proc/PID above was it.
    auto alive = sys::pidfd_is_alive(holder->pidfd.view());
    if (!alive || !*alive) return fail(Errc::process_exited, what + ": the pid namespace init exited");
    // Recorded once the pin is ours: removing the pin finds it again by pid and start time.
    if (auto st = detail::record_pidns_holder(paths, pin_name, holder->pid, holder->start_time); !st)
      return fail_with(st, what);
    holder_guard.keep = true;
  }
  return rollback.release();
}

Result<std::vector<PinnedNamespace>> create_pinned(const Paths& paths, std::span<const NamespaceType> types,
                                                   std::string_view name) {
  return detail::create_pinned_with_hook(paths, types, name, {});
}

Result<PinnedNamespace> create_pinned(const Paths& paths, NamespaceType type, std::string_view name) {
  auto pins = create_pinned(paths, std::span<const NamespaceType>(&type, 1), name);
  if (!pins) return fail(std::move(pins.error()));
  return std::move(pins->front());
}

Result<std::vector<PinnedNamespace>> detail::attach_with_hook(const Paths& paths, std::string_view name, pid_t pid,
                                                              std::span<const NamespaceType> types,
                                                              const std::function<void()>& after_bind) {
  std::string what = fmt::format("attach {} to PID {}", name, pid);
  if (auto st = validate_name(name); !st) return fail_with(st, "attach");
  if (auto st = check_types(types); !st) return fail_with(st, what);
  // The pidfd first: whatever happens to the PID from here on, this fd means this process.
  auto pidfd = sys::pidfd_open(pid);
  if (!pidfd) {
    if (pidfd.error().is(std::errc::no_such_process))
      return fail(Errc::not_found, fmt::format("{}: no such process", what));
    return fail_with(pidfd, what);
  }
  PinRollback rollback(paths);
  for (NamespaceType t : types) {
    std::string dir = pin_dir(paths, t);
    if (auto st = prepare_pin_dir(dir); !st) return fail_with(st, what);
    std::string path = pin_path(paths, t, name);
    std::string source = fmt::format("/proc/{}/ns/{}", pid, namespace_info(t).proc_entry);
    if (auto st = bind_pin_over_stale(source, path, dir); !st) {
      if (st.error().is(std::errc::no_such_file_or_directory))  // /proc/PID went away under us
        return fail(Errc::process_exited, what);
      return fail_with(st, fmt::format("{}: pin {}", what, to_string(t)));
    }
    struct stat sst {};
    int stat_rc = ::stat(path.c_str(), &sst);
    int stat_err = errno;
    // Added before the check: a pin whose identity cannot be read is still ours to roll back.
    rollback.add({t, std::string(name), path, NamespaceId{sst.st_dev, sst.st_ino}});
    if (stat_rc < 0) return fail_errno(stat_err, fmt::format("{}: stat pin {}", what, path));
  }
  if (after_bind) after_bind();
  // Still the same process? If it exited, /proc/PID may already name a newcomer whose
  // namespaces we just pinned: undo everything.
  auto alive = sys::pidfd_is_alive(pidfd->view());
  if (!alive) return fail_with(alive, what);
  if (!*alive) return fail(Errc::process_exited, what + ": the process exited while its namespaces were pinned");
  return rollback.release();
}

Result<std::vector<PinnedNamespace>> attach(const Paths& paths, std::string_view name, pid_t pid,
                                            std::span<const NamespaceType> types) {
  return detail::attach_with_hook(paths, name, pid, types, {});
}

Status remove_pinned(const Paths& paths, std::string_view name, std::span<const NamespaceType> types) {
  if (auto st = validate_name(name); !st) return fail_with(st, "remove");
  std::vector<NamespaceType> all;
  if (types.empty()) {
    for (const auto& info : all_namespaces()) all.push_back(info.type);
    types = all;
  }
  Status first;
  for (NamespaceType t : types) {
    auto st = detail::remove_one_pin(paths, t, name, pin_path(paths, t, name));
    if (!st && first) first = std::move(st);  // keep going: remove what can be removed
  }
  return first;
}

}  // namespace podns
