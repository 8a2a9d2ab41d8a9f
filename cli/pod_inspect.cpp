// podns pod ls [--json] | inspect NAME [--json] | oci-spec NAME
#include "pod_common.hpp"

namespace podns::cli {
namespace {

std::string first_address(const pod::PodInfo& p) {
  for (const auto& n : p.networks) {
    for (const auto& a : n.addresses) return a.address;
  }
  return "-";
}

std::string text_inspect(const pod::PodInfo& p) {
  std::string out = fmt::format("name:        {}\nphase:       {}\nsandbox key: {}\n", p.name, p.phase,
                                p.netns_path.empty() ? "-" : p.netns_path);
  if (!p.userns_path.empty()) out += fmt::format("userns:      {}\n", p.userns_path);
  if (!p.userns_mappings.is_null()) {
    for (const char* k : {"uidMappings", "gidMappings"}) {
      for (const auto& r : p.userns_mappings[k])
        out += fmt::format("{}:  {} -> {} ({} ids)\n", k[0] == 'u' ? "uid map" : "gid map", r["containerID"].get<uint32_t>(),
                           r["hostID"].get<uint32_t>(), r["size"].get<uint32_t>());
    }
  }
  for (const auto& [t, path] : p.pins) out += fmt::format("ns {:<8} {}\n", t, path);
  for (const auto& n : p.networks) {
    out += fmt::format("network {} ({}):\n", n.network, n.state);
    if (!n.ifname.empty()) out += fmt::format("  interface: {}\n", n.ifname);
    if (!n.mac.empty()) out += fmt::format("  mac:       {}\n", n.mac);
    for (const auto& a : n.addresses)
      out += fmt::format("  {}:      {}{}\n", a.ipv6 ? "ipv6" : "ipv4", a.address,
                         a.gateway.empty() ? "" : " via " + a.gateway);
    for (const auto& port : n.ports) out += fmt::format("  port:      {}\n", pod::format_port_spec(port));
  }
  for (const auto& [k, pid] : p.helpers) out += fmt::format("helper:      {} pid {}\n", k, pid);
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

void register_pod_inspect(CLI::App& app, Globals& g, Action& action) {
  auto& pod = group(app, "pod", "Pod sandboxes: namespaces + networks in one call");

  auto* ls = pod.add_subcommand("ls", "List pods");
  ls->alias("list");
  auto ls_json = std::make_shared<bool>(false);
  ls->add_flag("--json", *ls_json, "JSON output");
  ls->callback([&g, &action, ls_json] {
    action = [&g, ls_json]() -> Status {
      auto pods = pod::list(pod_env(g));
      if (!pods) return fail(pods.error());
      if (*ls_json) {
        nlohmann::json a = nlohmann::json::array();
        for (const auto& p : *pods) a.push_back(pod::to_json(p));
        print_line(a.dump(2));
        return {};
      }
      std::string out = fmt::format("{:<24} {:<9} {:<20} {}", "NAME", "PHASE", "IP", "SANDBOX KEY");
      for (const auto& p : *pods)
        out += fmt::format("\n{:<24} {:<9} {:<20} {}", p.name, p.phase, first_address(p), p.netns_path);
      print_line(out);
      return {};
    };
  });

  auto* insp = pod.add_subcommand("inspect", "Show a pod: sandbox key, user namespace, networks, ports");
  struct InspectArgs {
    std::string name;
    bool json = false;
  };
  auto ia = std::make_shared<InspectArgs>();
  insp->add_option("name", ia->name, "Pod name")->required();
  insp->add_flag("--json", ia->json, "JSON output");
  insp->callback([&g, &action, ia] {
    action = [&g, ia]() -> Status {
      auto info = pod::inspect(pod_env(g), ia->name);
      if (!info) return fail(info.error());
      print_line(ia->json ? pod::to_json(*info).dump(2) : text_inspect(*info));
      return {};
    };
  });

  auto* oci = pod.add_subcommand("oci-spec", "Print the namespaces and id mappings for a runtime's config.json");
  auto on = std::make_shared<std::string>();
  oci->add_option("name", *on, "Pod name")->required();
  oci->callback([&g, &action, on] {
    action = [&g, on]() -> Status {
      auto spec = pod::oci_spec(pod_env(g), *on);
      if (!spec) return fail(spec.error());
      print_line(spec->dump(2));
      return {};
    };
  });
}

Registrar reg(register_pod_inspect);

}  // namespace
}  // namespace podns::cli
