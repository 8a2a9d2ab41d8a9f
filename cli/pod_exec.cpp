// podns pod exec NAME -- CMD [ARG...]: exits with the command's exit code, like `ip netns exec`.
#include <cstdlib>

#include "pod_common.hpp"
#include "podns/process.hpp"

namespace podns::cli {
namespace {

void register_pod_exec(CLI::App& app, Globals& g, Action& action) {
  auto& pod = pod_group(app);
  auto* cmd = pod.add_subcommand("exec", "Run a command in all of the pod's namespaces");
  struct Args {
    std::string name;
    std::vector<std::string> argv;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("name", args->name, "Pod name")->required();
  cmd->add_option("command", args->argv, "Command and arguments (after --)")->required();
  cmd->callback([&g, &action, args] {
    action = [&g, args]() -> Status {
      TerminalSignalsIgnored as_system;  // ^C and ^\ are the command's business while it runs
      auto code = pod::exec(pod_env(g), args->name, args->argv);
      if (!code) return fail(code.error());
      std::fflush(stdout);
      if (*code != 0) std::exit(*code);
      return {};
    };
  });
}

Registrar pod_exec_registrar("pod", register_pod_exec);

}  // namespace
}  // namespace podns::cli
