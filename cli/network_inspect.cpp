// podns network inspect NAME [--json]
#include "network_common.hpp"
#include "podns/json_dump.hpp"

namespace podns::cli {
namespace {

std::string text(const pod::NetworkDetails& d) {
  const auto& n = d.network;
  std::string out = fmt::format("name:      {}\ndriver:    bridge\nbridge:    {}{}\n", n.name, n.bridge,
                                d.bridge_present ? "" : " (absent: created on first use or by network reload)");
  for (const auto& r : n.ranges)
    out += fmt::format("subnet:    {} gateway {} range {}-{}\n", r.subnet.str(), r.gateway.str(), r.start.str(),
                       r.end.str());
  if (n.internal) out += "internal:  yes (no egress)\n";
  if (!n.internal && !n.masquerade) out += "masquerade: no (routed pod addresses)\n";
  if (n.mtu) out += fmt::format("mtu:       {}\n", n.mtu);
  std::string fw;
  if (!d.firewall_table) fw = "MISSING: the table is gone (run podns network reload)";
  else if (!d.firewall_complete || !d.firewall_has_network) fw = "INCOMPLETE (run podns network reload)";
  else if (d.forwards_missing) fw = fmt::format("{} of {} port forwards MISSING (run podns network reload)",
                                                d.forwards_missing, d.forwards_expected);
  else fw = fmt::format("ok ({} port forward{})", d.forwards_expected, d.forwards_expected == 1 ? "" : "s");
  out += fmt::format("firewall:  {}\n", fw);
  for (const auto& drop : d.foreign_forward_drops)
    out += fmt::format("warning:   {} drops forwarded traffic (pods reach nothing beyond the host)\n", drop);
  for (const auto& m : d.members) {
    std::string addrs;
    for (const auto& a : m.addresses) addrs += " " + a;
    // A runtime's attachment (podns-bridge) by its container id: its row name is podns's own key.
    if (m.kind == "cni")
      out += fmt::format("container: {} {} ({}){}\n", m.container_id, m.ifname, m.host_ifname, addrs);
    else
      out += fmt::format("pod:       {} {} ({}){}\n", m.pod, m.ifname, m.host_ifname.empty() ? "cni" : m.host_ifname,
                         addrs);
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

void register_network_inspect(CLI::App& app, Globals& g, Action& action) {
  auto* cmd = network_group(app).add_subcommand("inspect", "A native network: definition, pods, firewall state");
  struct Args {
    std::string name;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("name", args->name, "Network name")->required();
  cmd->add_flag("--json", args->json, "JSON output");
  cmd->callback([&g, &action, args] {
    action = [&g, args]() -> Status {
      auto d = pod::network_inspect(pod_env(g), args->name);
      if (!d) return fail(d.error());
      print_line(args->json ? json_dump(pod::to_json(*d), 2) : text(*d));
      return {};
    };
  });
}

Registrar network_inspect_registrar("network", register_network_inspect);

}  // namespace
}  // namespace podns::cli
