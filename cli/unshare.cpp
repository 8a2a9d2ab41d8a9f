// podns unshare [-- CMD [ARG...]]: as `podman unshare`, run CMD (default $SHELL, else /bin/sh)
// inside the user's rootless session, where the user is root and sees the pins, so runc,
// `nsenter` and `ip netns exec`-style tools work on rootless pods. For root it just runs CMD.
// Exits with CMD's code (128+N when killed by signal N).
#include <cstdlib>
#include <memory>

#include "cli.hpp"
#include "podns/ns_exec.hpp"
#include "podns/process.hpp"

namespace podns::cli {
namespace {

void register_unshare(CLI::App& app, Globals& g, Action& action) {
  auto* cmd = app.add_subcommand("unshare", "Run a command inside the rootless session (as podman unshare)");
  auto argv = std::make_shared<std::vector<std::string>>();
  cmd->add_option("command", *argv, "Command and arguments (after --); default $SHELL");
  cmd->callback([&g, &action, argv] {
    action = [&g, argv]() -> Status {
      std::vector<std::string> command = *argv;
      if (command.empty()) {
        const char* shell = std::getenv("SHELL");
        command.push_back(shell && *shell ? shell : "/bin/sh");
      }
      TerminalSignalsIgnored as_system;  // ^C and ^\ are CMD's business while it runs
      auto code = exec_in_set({}, command, "");  // nothing to join: podns is in the session already (root needs none)
      if (!code) return fail_with(code, "unshare");
      g.exit_code = *code;
      return {};
    };
  });
}

Registrar unshare_registrar("unshare", register_unshare);

}  // namespace
}  // namespace podns::cli
