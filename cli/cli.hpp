// The podns CLI: parsing and printing only. Each verb group lives in its own file and registers
// itself with a static Registrar; a verb's callback stores an Action that main() runs after parsing,
// then main() reports a failed Status once as "podns: <what>: <why>" (exit 1; usage errors exit 2).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "podns/error.hpp"
#include "podns/paths.hpp"
#include "podns/rootless/session.hpp"

namespace podns::cli {

struct Globals {
  std::string run_dir;    // --run-dir / PODNS_RUN_DIR
  std::string state_dir;  // --state-dir / PODNS_STATE_DIR
  // The effective paths: flags first, then the environment, then the defaults.
  Paths paths() const;
  // A non-root user's command runs inside the rootless session (cli/session.cpp): joined after
  // parsing, released (and the session stopped when idle) after the action.
  std::optional<rootless::JoinedSession> session;
  // The exit code of a successful action that wants another one (`podns unshare CMD`).
  int exit_code = 0;
};

using Action = std::function<Status()>;
using RegisterFn = void (*)(CLI::App& app, Globals& globals, Action& action);

// `word` is the top-level word the verbs of `fn` hang under ("ns", "pod", "gc"): main() registers
// only the verbs of the word on the command line.
struct Registrar {
  Registrar(std::string_view word, RegisterFn fn);
};

inline constexpr std::string_view kVersionLine = "podns 0.1.0";

// The root command: name, description, --version and the global options.
void describe_root(CLI::App& app, Globals& globals);

// Every verb of every word, for what describes the whole CLI (completion, man pages): main()
// registers only the verbs of the word on the command line.
void register_all(CLI::App& app, Globals& globals, Action& action);

// The group subcommand `name` (ns, pod, cni), created on first use so that every verb file of the
// group can add its verbs to it.
CLI::App& group(CLI::App& app, const std::string& name, const std::string& description);

// Rootless (euid != 0): for verbs that touch pins or state (ns, pod, gc, cni, unshare), join the
// user's session, starting it first if needed, so pins work as for root. Must run while the
// process is single-threaded: after parsing, before the action. A no-op for root and other verbs.
// Once joined, the CLI execs itself again inside (argv: main's), handing the lock over
// (rootless::enter_session).
[[nodiscard]] Status enter_session(CLI::App& app, Globals& globals, char** argv);
// After the action: release the session, stopping it when nothing is pinned any more.
void leave_session(Globals& globals);

// Print JSON (2-space indent) or text to stdout.
void print_line(const std::string& text);

// Whether for_each_name prints each name it is done with (podman does; `ip netns del` is silent).
enum class EchoDone { yes, no };
// `podns X rm A B C`: every name is tried (like `podman pod rm`); each done one is printed unless
// asked not to, every failure but the first goes to stderr at once, and the first is returned at
// the end. With `doing` ("pod rm"), several names get a progress line (progress.hpp).
[[nodiscard]] Status for_each_name(const std::vector<std::string>& names,
                                   const std::function<Status(const std::string&)>& fn,
                                   std::string_view doing = {}, EchoDone echo = EchoDone::yes);

}  // namespace podns::cli
