// spawn(): turn a SpawnRequest into a helper plan (namespaces opened and type-checked up front,
// PATH resolved, all in the parent; sys/child.hpp does the common steps) and run it; plus the ownership check runtimes trip over.
#include "podns/spawn.hpp"

#include <dirent.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "ns/spawn_helper.hpp"
#include "podns/namespace.hpp"
#include "sys/child.hpp"

namespace podns {
namespace {

// <etc_dir>/<name>/* over /etc/*, in name order (what `ip netns exec` binds); none when the
// directory does not exist.
std::vector<detail::HelperBind> etc_netns_binds(const std::string& etc_dir, const std::string& name) {
  std::vector<detail::HelperBind> out;
  std::string dir = etc_dir + "/" + name;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    detail::HelperBind b{dir + "/" + n, "/etc/" + n, {}};
    b.warning = fmt::format("podns: warning: bind {} over {} failed\n", b.source, b.target);
    out.push_back(std::move(b));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.source < b.source; });
  return out;
}

}  // namespace

Result<ChildProcess> spawn(const SpawnRequest& req) {
  if (req.argv.empty() || req.argv[0].empty()) return fail(Errc::invalid_argument, "spawn: no command");
  detail::HelperSpec spec;
  const NamespaceRequest* by_type[8] = {};
  for (const auto& r : req.namespaces) {
    auto idx = static_cast<size_t>(r.type);
    if (by_type[idx])
      return fail(Errc::invalid_argument, fmt::format("spawn: {} namespace given twice", to_string(r.type)));
    by_type[idx] = &r;
  }
  // The table order: user, pid, uts, ipc, net, cgroup, mnt, time.
  for (const auto& info : all_namespaces()) {
    const NamespaceRequest* r = by_type[static_cast<size_t>(info.type)];
    if (!r) continue;
    if (r->path.empty()) {
      if (info.type == NamespaceType::user) spec.create_user = true;
      else spec.create_flags |= static_cast<uint64_t>(info.clone_flag);
    } else {
      auto ns = Namespace::open_path(r->path, info.type);
      if (!ns) return fail_with(ns, fmt::format("spawn: {} namespace", info.name));
      if (info.type == NamespaceType::user) {
        // setns() into the user namespace we are already in fails with EINVAL: nothing to do.
        auto cur = Namespace::open_current(NamespaceType::user);
        if (cur && *cur == *ns) continue;
      }
      spec.joins.push_back(std::move(*ns));
      spec.join_paths.push_back(r->path);
    }
    if (info.type == NamespaceType::pid || info.type == NamespaceType::time) spec.fork_last = true;
  }
  if (spec.create_user) {
    if (req.idmaps.empty())
      return fail(Errc::invalid_argument, "spawn: a new user namespace needs a uid and a gid map");
    if (auto s = validate_idmappings(req.idmaps); !s) return fail_with(s, "spawn");
    if (::geteuid() != 0)
      if (auto s = check_idmappings_allowed(req.idmaps); !s) return fail_with(s, "spawn");
    spec.idmaps = req.idmaps;
  }
  spec.become_root = req.become_root;
  if (req.fresh_sysfs) {
    if (!(spec.create_flags & CLONE_NEWNS))
      return fail(Errc::invalid_argument, "spawn: a fresh sysfs needs a new mount namespace in the request");
    spec.fresh_sysfs = true;
    spec.sysfs_flags = MS_NOSUID | MS_NOEXEC | MS_NODEV;
    struct statvfs sys {};
    if (::statvfs("/sys", &sys) == 0 && (sys.f_flag & ST_RDONLY)) spec.sysfs_flags |= MS_RDONLY;
    if (!req.netns_name.empty()) {
      spec.sysfs_source = req.netns_name;
      spec.binds = etc_netns_binds(req.etc_netns_dir, req.netns_name);
    }
  } else if (!req.netns_name.empty()) {
    return fail(Errc::invalid_argument, "spawn: a netns name goes with a fresh sysfs");
  }
  spec.argv = req.argv;
  spec.exec_candidates = sys::path_candidates(req.argv[0]);
  spec.env = req.env;
  spec.fds = req.fds;
  for (const auto& f : spec.fds)
    if (f.parent_fd < 0 || f.child_fd < 0)
      return fail(Errc::invalid_argument, fmt::format("spawn: bad fd mapping {} -> {}", f.parent_fd, f.child_fd));
  spec.cwd = req.cwd;
  auto r = detail::run_helper(spec);
  if (!r) return fail_with(r, "spawn");
  return std::move(r->process);
}

std::vector<std::string> namespace_ownership_warnings(const std::vector<NamespaceRequest>& set) {
  std::vector<std::string> warnings;
  auto user = std::find_if(set.begin(), set.end(), [](auto& r) { return r.type == NamespaceType::user; });
  if (user == set.end()) return warnings;
  std::optional<Namespace> userns;
  if (!user->path.empty()) {
    auto u = Namespace::open_path(user->path, NamespaceType::user);
    if (!u) return warnings;  // spawn reports the bad path itself
    userns.emplace(std::move(*u));
  }
  for (const auto& r : set) {
    if (r.type == NamespaceType::user || r.path.empty()) continue;
    auto ns = Namespace::open_path(r.path, r.type);
    if (!ns) continue;
    auto owner = ns->owner_userns();
    if (!userns) {
      // A new user namespace: nothing that exists yet can be owned by it.
      warnings.push_back(fmt::format(
          "{} namespace {} is not owned by the new user namespace: joining it from inside fails with EPERM "
          "(create the set with podns ns add --type user --type {} instead)",
          to_string(r.type), r.path, to_string(r.type)));
      continue;
    }
    // Owned by the set's user namespace or by one nested inside it is fine; walking up the owner's
    // parents stops at the top we may see (EPERM).
    bool owned = false;
    if (owner) {
      std::optional<Namespace> cur(std::move(*owner));
      for (int depth = 0; cur && depth < 33; ++depth) {
        if (*cur == *userns) {
          owned = true;
          break;
        }
        auto parent = cur->parent();
        if (!parent) break;
        cur.emplace(std::move(*parent));
      }
    }
    if (!owned)
      warnings.push_back(fmt::format(
          "{} namespace {} is not owned by user namespace {}: a runtime joining both fails "
          "(runc: \"failed to setns into {} namespace: Operation not permitted\") and cannot mount sysfs",
          to_string(r.type), r.path, user->path, to_string(r.type)));
  }
  return warnings;
}

}  // namespace podns
