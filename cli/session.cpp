// The rootless session from the CLI: joining it before a verb that touches pins or state (as a
// non-root user), releasing it after, and the verbs `podns session status|stop`.
#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <fcntl.h>
#include <cstdlib>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "podns/json_dump.hpp"
#include "podns/parse_int.hpp"

namespace podns::cli {
namespace {

// Verbs that read or write pins or state. --help and --version never get here (parsing ends them).
constexpr std::array<std::string_view, 5> kJoiningVerbs = {"ns", "pod", "gc", "cni", "unshare"};
// Set for the image exec'd inside the session: the fd of its shared session lock.
constexpr const char* kSessionEnv = "PODNS_SESSION_LOCK_FD";

rootless::SessionOptions session_options(const Globals& g) {
  rootless::SessionOptions o;
  o.run_dir = g.paths().run_dir;
  return o;
}

void register_session(CLI::App& app, Globals& g, Action& action) {
  auto& grp = group(app, "session", "The rootless session (the user namespace and mount namespace of a user's pods)");

  auto* status = grp.add_subcommand("status", "Show the session's pause process and id maps");
  auto json = std::make_shared<bool>(false);
  status->add_flag("--json", *json, "JSON output");
  status->callback([&g, &action, json] {
    action = [&g, json]() -> Status {
      if (::geteuid() == 0) {
        print_line(*json ? json_dump(nlohmann::json{{"running", false}, {"reason", "root needs no session"}}, 2)
                         : "root needs no session");
        return {};
      }
      auto found = rootless::find_session(session_options(g).run_dir);
      if (!found) return fail(found.error());
      if (*json) {
        nlohmann::json j = {{"running", found->has_value()}};
        if (*found) j["session"] = **found;
        print_line(json_dump(j, 2));
      } else if (!*found) {
        print_line("no session");
      } else {
        const auto& s = **found;
        print_line(fmt::format("pause pid:  {}\npid file:   {}\nuid map:    {}\ngid map:    {}", s.pid, s.pid_file,
                               s.uid_map.empty() ? "" : s.uid_map.substr(0, s.uid_map.size() - 1),
                               s.gid_map.empty() ? "" : s.gid_map.substr(0, s.gid_map.size() - 1)));
      }
      return {};
    };
  });

  auto* stop = grp.add_subcommand("stop", "Stop the session (refused while pods or namespaces are pinned)");
  auto force = std::make_shared<bool>(false);
  stop->add_flag("--force", *force, "Stop even with pins: their pods become broken (pod rm / gc remove them)");
  stop->callback([&g, &action, force] {
    action = [&g, force]() -> Status {
      if (::geteuid() == 0) return {};  // root has no session: nothing to stop
      auto joined = rootless::join_session(session_options(g), /*start=*/false);
      if (!joined) {
        if (joined.error().is(Errc::not_found)) return {};  // idempotent, as `pod rm` of nothing
        return fail(joined.error());
      }
      pid_t pid = joined->info().pid;
      if (auto s = joined->stop(*force); !s) return s;
      print_line(fmt::format("stopped pause process {}", pid));
      return {};
    };
  });
}

Registrar session_registrar("session", register_session);

}  // namespace

Status enter_session(CLI::App& app, Globals& g, char** argv) {
  if (const char* handed = std::getenv(kSessionEnv)) {
    // The image exec'd by the block below: adopt the lock it handed over. Not passed on to
    // anything started from here (a nested podns under `podns unshare` is inside already).
    std::string value = handed;
    ::unsetenv(kSessionEnv);
    auto fd = parse_int<int>(value);
    if (!fd || *fd < 3) return fail(Errc::invalid_argument, fmt::format("{}={}: not an fd", kSessionEnv, value));
    auto adopted = rootless::adopt_joined_session(g.paths().run_dir, *fd);
    if (!adopted) return fail_with(adopted, "rootless session");
    g.session = std::move(*adopted);
    return {};
  }
  if (::geteuid() == 0) return {};
  bool needed = false;
  for (CLI::App* sub : app.get_subcommands())
    for (auto verb : kJoiningVerbs)
      if (sub->get_name() == verb) needed = true;
  if (!needed) return {};
  Paths p = g.paths();
  // Inside, getuid() is 0 and Paths::from_environment() would pick root's /run/podns: keep the
  // user's dirs, for this process and for every podns started inside (`podns unshare`).
  ::setenv("PODNS_RUN_DIR", p.run_dir.c_str(), 1);
  ::setenv("PODNS_STATE_DIR", p.state_dir.c_str(), 1);
  rootless::SessionOptions o;
  o.run_dir = p.run_dir;
  auto joined = rootless::join_session(o);
  if (!joined) return fail_with(joined, "rootless session");
  if (!joined->joined_now()) {
    g.session = std::move(*joined);
    return {};
  }
  // Exec ourselves again, now inside: children that become root in a nested user namespace must
  // stay readable to us (session.hpp, adopt_joined_session). The shared lock crosses the exec.
  int fd = joined->take_lock_fd();
  // Without the fd the new image could not adopt the lock and would fail less clearly.
  if (::fcntl(fd, F_SETFD, 0) < 0) {
    int err = errno;
    ::close(fd);
    return fail_errno(err, "rootless session: hand the session lock over");
  }
  ::setenv(kSessionEnv, std::to_string(fd).c_str(), 1);
  std::fflush(stdout);
  ::execv("/proc/self/exe", argv);
  return fail_errno("rootless session: exec /proc/self/exe inside the session");
}

void leave_session(Globals& g) {
  if (!g.session) return;
  auto r = g.session->release_and_stop_if_idle();
  if (!r) fmt::print(stderr, "podns: warning: {}\n", r.error().message());
  g.session.reset();
}

}  // namespace podns::cli
