// podns ns exec NAME -- CMD [ARG...]: run CMD in every namespace pinned as NAME; for a netns with
// a fresh /sys and /etc/netns/NAME/* over /etc, as `ip netns exec` does. Exits with CMD's code.
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "ns_common.hpp"
#include "podns/ns_exec.hpp"
#include "podns/process.hpp"

namespace podns::cli {
namespace {

void register_ns_exec(CLI::App& app, Globals& g, Action& action) {
  auto* cmd = ns_group(app).add_subcommand("exec", "Run a command inside pinned namespaces");
  struct Args {
    std::string name;
    std::vector<std::string> argv;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("name", args->name, "Pin name")->required();
  cmd->add_option("command", args->argv, "Command and arguments (after --)")->required();
  cmd->callback([&g, &action, args] {
    action = [&g, args]() -> Status {
      TerminalSignalsIgnored as_system;  // ^C and ^\ are the command's business while it runs
      auto code = exec_in_pins(g.paths(), args->name, args->argv,
                               [](const std::string& w) { fmt::print(stderr, "podns: warning: {}\n", w); });
      if (!code) return fail(code.error());
      std::fflush(stdout);
      if (*code != 0) std::exit(*code);
      return {};
    };
  });
}

Registrar ns_exec_registrar("ns", register_ns_exec);

}  // namespace
}  // namespace podns::cli
