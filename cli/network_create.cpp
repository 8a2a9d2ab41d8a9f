// podns network create NAME [--subnet CIDR]... [--gateway IP]... [--ip-range CIDR]... [--ipv6]
//                           [--internal] [--mtu N] [--bridge IFNAME] [--json]
#include "network_common.hpp"
#include "podns/json_dump.hpp"

namespace podns::cli {
namespace {

void register_network_create(CLI::App& app, Globals& g, Action& action) {
  auto* cmd = network_group(app).add_subcommand("create", "Create a native network: bridge, subnets, firewall rules");
  struct Args {
    network::NetworkOptions o;
    std::vector<std::string> subnets, gateways, ranges;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("name", args->o.name, "Network name")->required();
  cmd->add_option("--subnet", args->subnets, "Subnet in CIDR form (repeatable: IPv4 and IPv6); default: a free /24");
  cmd->add_option("--gateway", args->gateways, "Gateway of the subnet of the same position; default: its first host");
  cmd->add_option("--ip-range", args->ranges, "Allocate only from this CIDR inside the subnet of the same position");
  cmd->add_flag("--ipv6", args->o.ipv6, "Dual stack: add an IPv6 subnet when none is given");
  cmd->add_flag("--internal", args->o.internal, "No egress: the pods reach each other and the host only");
  cmd->add_option("--mtu", args->o.mtu, "MTU of the bridge and the pods' interfaces");
  cmd->add_option("--bridge", args->o.bridge, "Bridge interface name; default: the first free podnsN");
  cmd->add_flag("--json", args->json, "Print the network as JSON");
  cmd->callback([&g, &action, args] {
    action = [&g, args]() -> Status {
      if (args->gateways.size() > args->subnets.size() || args->ranges.size() > args->subnets.size())
        return fail(Errc::invalid_argument, "--gateway and --ip-range each go with a --subnet (in order)");
      for (size_t i = 0; i < args->subnets.size(); ++i) {
        args->o.subnets.push_back({args->subnets[i], i < args->gateways.size() ? args->gateways[i] : "",
                                   i < args->ranges.size() ? args->ranges[i] : ""});
      }
      auto net = pod::network_create(pod_env(g), args->o);
      if (!net) return fail(net.error());
      if (args->json) print_line(json_dump(network::to_json(*net), 2));
      else print_line(net->name);
      return {};
    };
  });
}

Registrar network_create_registrar("network", register_network_create);

}  // namespace
}  // namespace podns::cli
