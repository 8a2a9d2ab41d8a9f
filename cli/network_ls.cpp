// podns network ls [--json]
#include "network_common.hpp"
#include "podns/json_dump.hpp"

namespace podns::cli {
namespace {

void register_network_ls(CLI::App& app, Globals& g, Action& action) {
  auto* cmd = network_group(app).add_subcommand("ls", "List native networks and CNI conflists");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "JSON output");
  cmd->callback([&g, &action, json] {
    action = [&g, json]() -> Status {
      auto nets = pod::network_list(pod_env(g));
      if (!nets) return fail(nets.error());
      if (*json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& n : *nets) out.push_back(pod::to_json(n));
        print_line(json_dump(out, 2));
        return {};
      }
      print_line(fmt::format("{:<20} {:<7} {:<15} {:>5}  {}", "NAME", "DRIVER", "BRIDGE", "PODS", "SUBNETS"));
      for (const auto& n : *nets) {
        std::string subnets;
        for (const auto& s : n.subnets) subnets += (subnets.empty() ? "" : ",") + s;
        if (n.driver == "cni") subnets = n.source;
        else if (n.internal) subnets += " (internal)";
        print_line(fmt::format("{:<20} {:<7} {:<15} {:>5}  {}", n.name, n.driver, n.bridge.empty() ? "-" : n.bridge,
                               n.driver == "cni" ? "-" : std::to_string(n.pods), subnets));
      }
      return {};
    };
  });
}

Registrar network_ls_registrar("network", register_network_ls);

}  // namespace
}  // namespace podns::cli
