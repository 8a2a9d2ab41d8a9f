// Writing a child's setgroups/uid_map/gid_map: directly as root, through newuidmap/newgidmap (the
// setuid helpers of Debian's uidmap package) as an unprivileged user.
#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <fmt/format.h>

#include "podns/idmap.hpp"
#include "sys/child.hpp"
#include "sys/io.hpp"

namespace podns {
namespace {

Status write_proc_file(FdView proc_dir, pid_t pid, const char* name, const std::string& text) {
  UniqueFd fd(::openat(proc_dir.get(), name, O_WRONLY | O_CLOEXEC));
  if (!fd) return fail_errno(fmt::format("open /proc/{}/{}", pid, name));
  // The kernel wants the whole map in one write(); a short write would be an error anyway.
  ssize_t n = ::write(fd.get(), text.data(), text.size());
  if (n < 0) return fail_errno(fmt::format("write /proc/{}/{}", pid, name));
  if (static_cast<std::size_t>(n) != text.size())
    return fail(Errc::invalid_argument, fmt::format("write /proc/{}/{}: short write", pid, name));
  return {};
}

// Run newuidmap/newgidmap PID C H S [C H S]... and turn a failure into an error carrying its
// stderr. Started through the child-process builder: nothing of ours but stdout/stderr reaches a
// setuid-root tool.
Status run_idmap_tool(const char* tool, pid_t pid, const IdMap& map) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return fail_errno(fmt::format("{}: pipe", tool));
  UniqueFd rd(p[0]), wr(p[1]);
  sys::ChildSpec spec;
  spec.argv = {tool, std::to_string(pid)};
  for (const auto& r : map) {
    spec.argv.push_back(std::to_string(r.container_id));
    spec.argv.push_back(std::to_string(r.host_id));
    spec.argv.push_back(std::to_string(r.size));
  }
  spec.exec_paths = sys::path_candidates(tool);
  spec.fds = {{wr.get(), 1}, {wr.get(), 2}};
  sys::ChildPlan plan(std::move(spec));
  auto child = sys::start_child(plan);
  wr.reset();
  if (!child && child.error().is(std::errc::no_such_file_or_directory))
    return fail(Errc::unsupported, fmt::format("{} not found (install Debian package uidmap)", tool));
  if (!child) return fail_with(child, fmt::format("run {}", tool));
  std::string out;
  char buf[512];
  for (;;) {
    ssize_t n = sys::read(rd.get(), buf, sizeof buf);
    if (n > 0) out.append(buf, static_cast<std::size_t>(n));
    else if (n == 0 || errno != EINTR) break;
  }
  auto code = child->wait();
  if (code && *code == 0) return {};
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return fail(Errc::plugin_failed, fmt::format("{} {} {}: {}", tool, pid, format_idmap(map),
                                               out.empty() ? "failed" : out));
}

bool only_own_id(const IdMap& map, uint32_t id) { return map.size() == 1 && map[0].host_id == id && map[0].size == 1; }

}  // namespace

Status write_idmappings(FdView proc_dir, pid_t pid, const IdMappings& maps) {
  if (auto s = validate_idmappings(maps); !s) return s;
  if (maps.empty()) return {};
  const char* setgroups = maps.setgroups == SetGroups::deny ? "deny" : "allow";
  if (::geteuid() == 0) {
    // Root writes the files itself: uid_map before gid_map is irrelevant here, but setgroups must
    // come first (it cannot be changed once gid_map is written).
    if (auto s = write_proc_file(proc_dir, pid, "setgroups", setgroups); !s) return s;
    if (auto s = write_proc_file(proc_dir, pid, "uid_map", kernel_idmap_text(maps.uid)); !s) return s;
    return write_proc_file(proc_dir, pid, "gid_map", kernel_idmap_text(maps.gid));
  }
  // Unprivileged. The namespace owner may map its own id directly; for gid that needs setgroups
  // denied first (otherwise a process could drop supplementary groups that deny it access).
  bool own_uid = only_own_id(maps.uid, ::geteuid());
  bool own_gid = only_own_id(maps.gid, ::getegid());
  if (own_gid && maps.setgroups == SetGroups::allow)
    return fail(Errc::invalid_argument,
                "gid map of only your own gid needs setgroups denied (an unprivileged user may not allow it)");
  if (maps.setgroups == SetGroups::deny)
    if (auto s = write_proc_file(proc_dir, pid, "setgroups", "deny"); !s) return s;
  if (auto s = own_uid ? write_proc_file(proc_dir, pid, "uid_map", kernel_idmap_text(maps.uid))
                       : run_idmap_tool("newuidmap", pid, maps.uid);
      !s)
    return s;
  return own_gid ? write_proc_file(proc_dir, pid, "gid_map", kernel_idmap_text(maps.gid))
                 : run_idmap_tool("newgidmap", pid, maps.gid);
}

}  // namespace podns
