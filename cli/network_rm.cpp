// podns network rm NAME... [--force]
#include "network_common.hpp"

namespace podns::cli {
namespace {

void register_network_rm(CLI::App& app, Globals& g, Action& action) {
  auto* cmd = network_group(app).add_subcommand("rm", "Remove native networks (refused while pods use them)");
  struct Args {
    std::vector<std::string> names;
    bool force = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("names", args->names, "Network names")->required();
  cmd->add_flag("-f,--force", args->force, "Remove the pods that use it too; a missing network is no error");
  cmd->callback([&g, &action, args] {
    action = [&g, args]() -> Status {
      auto env = pod_env(g);
      return for_each_name(args->names, [&](const std::string& name) { return pod::network_remove(env, name, args->force); });
    };
  });
}

Registrar network_rm_registrar("network", register_network_rm);

}  // namespace
}  // namespace podns::cli
