// Writing a child's setgroups/uid_map/gid_map: directly as root, through newuidmap/newgidmap (the
// setuid helpers of Debian's uidmap package) as an unprivileged user.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <fmt/format.h>

#include "podns/idmap.hpp"

extern char** environ;

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
// stderr. posix_spawn is safe from a multi-threaded process (vfork semantics, no atfork handlers).
Status run_idmap_tool(const char* tool, pid_t pid, const IdMap& map) {
  std::vector<std::string> args{tool, std::to_string(pid)};
  for (const auto& r : map) {
    args.push_back(std::to_string(r.container_id));
    args.push_back(std::to_string(r.host_id));
    args.push_back(std::to_string(r.size));
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return fail_errno(fmt::format("{}: pipe", tool));
  UniqueFd rd(p[0]), wr(p[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 2);
  pid_t child = -1;
  int err = posix_spawnp(&child, tool, &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  wr.reset();
  if (err == ENOENT)
    return fail(Errc::unsupported, fmt::format("{} not found (install Debian package uidmap)", tool));
  if (err != 0) return fail_errno(err, fmt::format("run {}", tool));
  std::string out;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(rd.get(), buf, sizeof buf);
    if (n > 0) out.append(buf, static_cast<std::size_t>(n));
    else if (n == 0 || errno != EINTR) break;
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {}
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
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
