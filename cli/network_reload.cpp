// podns network reload: every rule and map element again from the state (netavark's
// firewall-reload), for after `nft flush ruleset`, a firewall service restart or a reboot.
#include "network_common.hpp"

namespace podns::cli {
namespace {

void register_network_reload(CLI::App& app, Globals& g, Action& action) {
  auto* cmd = network_group(app).add_subcommand(
      "reload", "Re-apply every firewall rule and port forward and bring back missing bridges");
  cmd->callback([&g, &action] {
    action = [&g]() -> Status {
      auto env = pod_env(g);
      progress::enable(/*json=*/false);
      env.on_progress = progress::callback();
      auto done = pod::network_reload(env);
      if (!done) return fail(done.error());
      for (const auto& line : *done) print_line(line);
      return {};
    };
  });
}

Registrar network_reload_registrar("network", register_network_reload);

}  // namespace
}  // namespace podns::cli
