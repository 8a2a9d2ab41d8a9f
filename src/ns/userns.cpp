// create_userns_set: a user namespace and namespaces owned by it, created in a helper child and
// pinned (see userns.hpp for the sequence and why each step is there).
#include "podns/userns.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "ns/pidns_holder.hpp"
#include "ns/pin_rollback.hpp"
#include "ns/spawn_helper.hpp"
#include "podns/names.hpp"
#include "sys/fault.hpp"

namespace podns {
namespace {

Status check_request(const UsernsSetRequest& req) {
  if (auto s = validate_name(req.name); !s) return s;
  unsigned seen = 0;
  bool user = false;
  for (NamespaceType t : req.types) {
    unsigned bit = 1u << static_cast<unsigned>(t);
    if (seen & bit) return fail(Errc::invalid_argument, fmt::format("namespace type {} given twice", to_string(t)));
    seen |= bit;
    user |= t == NamespaceType::user;
  }
  if (!user)
    return fail(Errc::invalid_argument, "a user-namespace-owned set needs --type user (use create_pinned otherwise)");
  if (req.idmaps.empty())
    return fail(Errc::invalid_argument, "a new user namespace needs a uid map and a gid map (--map, --gid-map)");
  if (auto s = validate_idmappings(req.idmaps); !s) return s;
  for (const auto& sc : req.sysctls) {
    auto t = sysctl_namespace(sc.key);
    if (!t) return fail(t.error());
    if (!(seen & (1u << static_cast<unsigned>(*t))))
      return fail(Errc::invalid_argument,
                  fmt::format("sysctl {}: needs a new {} namespace in the set (it would change the host's)", sc.key,
                              to_string(*t)));
  }
  return {};
}

}  // namespace

const PinnedNamespace* PinnedSet::find(NamespaceType type) const {
  for (const auto& p : pins)
    if (p.type == type) return &p;
  return nullptr;
}

Result<PinnedSet> create_userns_set(const UsernsSetRequest& req) {
  std::string what = fmt::format("create user namespace set {}", req.name);
  if (auto s = check_request(req); !s) return fail_with(s, what);
  if (::geteuid() != 0)
    if (auto s = check_idmappings_allowed(req.idmaps); !s) return fail_with(s, what);

  // User first, then the table order (the order a runtime joins them in).
  std::vector<NamespaceType> types;
  for (const auto& info : all_namespaces())
    if (std::find(req.types.begin(), req.types.end(), info.type) != req.types.end()) types.push_back(info.type);

  detail::HelperSpec spec;
  spec.create_user = true;
  spec.idmaps = req.idmaps;
  spec.pause = true;
  for (NamespaceType t : types) {
    std::string dir = pin_dir(req.paths, t);
    if (auto s = prepare_pin_dir(dir); !s) return fail_with(s, what);
    if (t == NamespaceType::user) continue;
    spec.create_flags |= static_cast<uint64_t>(namespace_info(t).clone_flag);
    if (t == NamespaceType::mnt) spec.mnt_private_dir = dir;
  }
  for (const auto& sc : req.sysctls)
    spec.sysctls.push_back({detail::sysctl_proc_path(sc.key), sc.value, sc.key});

  // A live pin of the same name is refused before any work; bind_pin's O_EXCL is the real guard.
  for (NamespaceType t : types) {
    auto live = pin_is_live(pin_path(req.paths, t, req.name));
    if (live && *live) return fail(Errc::already_exists, fmt::format("{}: pin {}", what, pin_path(req.paths, t, req.name)));
  }

  auto helper = detail::run_helper(spec);
  if (!helper) return fail_with(helper, what);
  // The init of a new pid namespace outlives the helper on success (removing the pid pin stops
  // it); on any failure it goes too.
  struct HolderGuard {
    UniqueFd& fd;
    ~HolderGuard() {
      if (fd) ::syscall(SYS_pidfd_send_signal, fd.get(), SIGKILL, nullptr, 0);
    }
  } holder_guard{helper->pid_holder};
  // A test kills the helper here ("the helper died mid-setup"): the checks below must notice.
  sys::fault::crash_point("userns.helper-ready");

  // Open every namespace through the helper's /proc dir, then make sure the helper is still the
  // live process we started: a dead helper's entries would be gone or, worse, someone else's.
  std::vector<Namespace> nss;
  for (NamespaceType t : types) {
    std::string entry = fmt::format("ns/{}", namespace_info(t).pin_entry);
    UniqueFd fd(::openat(helper->proc_dir.get(), entry.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      auto alive = helper->process.alive();
      if (alive && !*alive) return fail(Errc::process_exited, fmt::format("{}: helper {} died during setup", what, helper->process.pid()));
      return fail_errno(fmt::format("{}: open /proc/{}/{}", what, helper->process.pid(), entry));
    }
    auto ns = Namespace::from_fd(std::move(fd), t);
    if (!ns) return fail_with(ns, fmt::format("{}: {}", what, entry));
    nss.push_back(std::move(*ns));
  }
  auto check_alive = [&](std::string_view when) -> Status {
    auto alive = helper->process.alive();
    if (!alive) return fail_with(alive, what);
    if (!*alive)
      return fail(Errc::process_exited, fmt::format("{}: helper {} died {}", what, helper->process.pid(), when));
    return {};
  };
  if (auto s = check_alive("during setup"); !s) return fail(s.error());

  detail::PinRollback rollback(req.paths);
  for (size_t i = 0; i < types.size(); ++i) {
    std::string path = pin_path(req.paths, types[i], req.name);
    std::string source = fmt::format("/proc/self/fd/{}", nss[i].fd().get());
    if (auto s = bind_pin(source, path); !s) return fail_with(s, fmt::format("{}: pin {}", what, to_string(types[i])));
    rollback.add({types[i], req.name, path, nss[i].id()});
  }
  if (auto s = check_alive("while pinning"); !s) return fail(s.error());
  if (auto code = helper->process.kill_and_wait(); !code) return fail_with(code, what + ": stop helper");
  if (helper->pid_holder) {
    // Recorded once the pins are ours: removing the pid pin finds it again by pid and start time.
    if (auto s = detail::record_pidns_holder(req.paths, req.name, helper->pid_holder_pid,
                                             helper->pid_holder_start_time);
        !s)
      return fail_with(s, what);
  }
  helper->pid_holder.reset();  // pinned: the holder stays with its namespace
  PinnedSet set;
  set.name = req.name;
  set.pins = rollback.release();
  return set;
}

}  // namespace podns
