// ChildPlan, parent side: freeze a ChildSpec into the arrays the child reads, check it, and word a
// failure the child reported.
#include <sched.h>

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "sys/child.hpp"

namespace podns::sys {

std::vector<std::string> path_candidates(std::string_view prog, const char* path_env) {
  if (prog.find('/') != std::string_view::npos) return {std::string(prog)};
  if (!path_env) path_env = std::getenv("PATH");
  // execvp's default when PATH is unset.
  std::string p = path_env && *path_env ? path_env : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  std::vector<std::string> out;
  std::string_view rest = p;
  for (;;) {
    auto colon = rest.find(':');
    std::string_view dir = rest.substr(0, colon);
    std::string candidate(dir.empty() ? std::string_view(".") : dir);
    candidate += '/';
    candidate += prog;
    out.push_back(std::move(candidate));
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return out;
}

ChildPlan::ChildPlan(ChildSpec spec) : spec_(std::move(spec)) {
  for (auto& a : spec_.argv) argv_.push_back(a.data());
  argv_.push_back(nullptr);
  if (spec_.env) {
    for (auto& e : *spec_.env) envp_.push_back(e.data());
    envp_.push_back(nullptr);
  }
  if (spec_.exec_paths.empty() && !spec_.argv.empty()) spec_.exec_paths.push_back(spec_.argv[0]);
  for (const auto& p : spec_.exec_paths) paths_.push_back(p.c_str());
  cwd_ = spec_.cwd.empty() ? nullptr : spec_.cwd.c_str();
}

Status ChildPlan::check(bool exec) const {
  if (exec && (spec_.argv.empty() || paths_.empty()))
    return fail(Errc::invalid_argument, "start process: no command");
  if (spec_.fds.size() > kMaxChildFds)
    return fail(Errc::invalid_argument, fmt::format("start process: more than {} fds to pass", kMaxChildFds));
  for (size_t i = 0; i < spec_.fds.size(); ++i) {
    const ChildFd& m = spec_.fds[i];
    if (m.parent_fd < 0 || m.child_fd < 0)
      return fail(Errc::invalid_argument, fmt::format("start process: bad fd mapping {} -> {}", m.parent_fd, m.child_fd));
  }
  return {};
}

std::string ChildPlan::describe(const ChildFailure& f) const {
  switch (f.step) {
    case kStepSignals: return "reset signal dispositions";
    case kStepSession:
      return spec_.session == ChildSession::new_session ? "setsid" : "setpgid (a process group of its own)";
    case kStepSetns:
      if (f.index >= 0 && static_cast<size_t>(f.index) < spec_.joins.size())
        return fmt::format("setns fd {}", spec_.joins[f.index].fd);
      return "setns";
    case kStepUnshare: return fmt::format("unshare {:#x}", static_cast<unsigned>(spec_.unshare_flags));
    case kStepPrivateMounts: return "make every mount private";
    case kStepSetgroups: {
      std::string groups;
      if (spec_.ids && spec_.ids->groups)
        for (gid_t g : *spec_.ids->groups) groups += fmt::format("{}{}", groups.empty() ? "" : ",", g);
      return fmt::format("setgroups [{}]", groups);
    }
    case kStepSetgid: return fmt::format("setresgid {}", spec_.ids ? spec_.ids->gid : 0);
    case kStepSetuid: return fmt::format("setresuid {}", spec_.ids ? spec_.ids->uid : 0);
    case kStepFds:
      if (f.index >= 0 && static_cast<size_t>(f.index) < spec_.fds.size())
        return fmt::format("pass fd {} as {}", spec_.fds[f.index].parent_fd, spec_.fds[f.index].child_fd);
      return "pass fds";
    case kStepCloseFds: return "close inherited fds";
    case kStepChdir: return fmt::format("chdir {}", spec_.cwd);
    case kStepExec:
      // One candidate: name the path tried; a PATH search: name the command as given.
      if (spec_.exec_paths.size() == 1) return fmt::format("exec {}", spec_.exec_paths[0]);
      return fmt::format("exec {}", spec_.argv.empty() ? "" : spec_.argv[0]);
    default: return fmt::format("start process (step {})", f.step);
  }
}

}  // namespace podns::sys
