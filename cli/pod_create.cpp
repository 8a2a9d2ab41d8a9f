// podns pod create NAME [--userns MAP|auto] [--network NET]... [-p [IP:]HOST:CTR[/PROTO]]...
//                       [--ip ADDR] [--mac MAC] [--sysctl K=V]... [--rootless-net slirp4netns|pasta]
#include "pod_common.hpp"
#include "podns/json_dump.hpp"

namespace podns::cli {
namespace {

void register_pod_create(CLI::App& app, Globals& g, Action& action) {
  auto& pod = pod_group(app);
  auto* cmd = pod.add_subcommand("create", "Create a pod: pin its namespaces and attach its networks");
  struct Args {
    pod::CreateOptions o;
    std::vector<std::string> ports, sysctls;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("name", args->o.name, "Pod name")->required();
  cmd->add_option("--network", args->o.networks,
                  "Network to attach: a podns network, else a CNI conflist (repeatable, in order: eth0, eth1, ...); default: podns");
  cmd->add_option("-p,--publish", args->ports, "Publish a port: [HOSTIP:]HOSTPORT:CTRPORT[/tcp|udp|sctp]");
  cmd->add_option("--ip", args->o.ip, "Static IP address on the first network");
  cmd->add_option("--mac", args->o.mac, "Static MAC address of eth0");
  cmd->add_option("--sysctl", args->sysctls, "net.* sysctl to set in the pod's netns: KEY=VALUE (repeatable)");
  cmd->add_option("--userns", args->o.userns, "New user namespace owning the pod's namespaces: auto or C:H:S[,...]");
  cmd->add_option("--rootless-net", args->o.rootless_net, "User-mode networking instead of CNI: slirp4netns or pasta");
  cmd->add_flag("--json", args->json, "Print the new pod as JSON");
  cmd->callback([&g, &action, args] {
    action = [&g, args]() -> Status {
      for (const auto& p : args->ports) {
        auto ps = pod::parse_port_spec(p);
        if (!ps) return fail(ps.error());
        args->o.ports.push_back(*ps);
      }
      for (const auto& s : args->sysctls) {
        auto kv = pod::parse_sysctl(s);
        if (!kv) return fail(kv.error());
        args->o.sysctls.push_back(*kv);
      }
      auto info = pod::create(pod_env(g), args->o);
      if (!info) return fail(info.error());
      if (args->json) print_line(json_dump(pod::to_json(*info), 2));
      else print_line(info->name);
      return {};
    };
  });
}

Registrar pod_create_registrar("pod", register_pod_create);

}  // namespace
}  // namespace podns::cli
