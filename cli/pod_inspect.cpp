// podns pod ls [--json] | inspect NAME [--json] | oci-spec NAME
#include "pod_common.hpp"
#include "podns/json_dump.hpp"

namespace podns::cli {
namespace {

std::string first_address(const pod::PodInfo& p) {
  for (const auto& n : p.networks) {
    for (const auto& a : n.addresses) return a.address;
  }
  return "-";
}

std::string networks(const pod::PodInfo& p) {
  std::string out;
  for (const auto& n : p.networks) out += (out.empty() ? "" : ",") + n.network;
  return out.empty() ? "-" : out;
}

std::string text_inspect(const pod::PodInfo& p) {
  std::string gone;
  if (p.live && p.live->netns == "gone")
    gone = " (gone: the network namespace no longer exists; pod rm cleans up the rest)";
  std::string out = fmt::format("name:        {}\nphase:       {}\nsandbox key: {}{}\n", p.name, p.phase,
                                p.netns_path.empty() ? "-" : p.netns_path, gone);
  if (p.live && !p.live->error.empty()) out += fmt::format("live state:  unreadable: {}\n", p.live->error);
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
    if (n.live && n.live->present) {
      std::string addrs;
      for (const auto& a : n.live->addresses) addrs += " " + a;
      out += fmt::format("  live:      {}{} mtu {} {}{}\n", n.live->operstate, n.live->admin_up ? "" : " (admin down)",
                         n.live->mtu, n.live->mac, addrs);
    } else if (n.live) {
      out += fmt::format("  live:      {} no longer exists in the pod's netns\n", n.ifname);
    }
  }
  for (const auto& [k, pid] : p.helpers) {
    const pod::HelperLive* l = nullptr;
    if (p.live) {
      for (const auto& h : p.live->helpers)
        if (h.kind == k) l = &h;
    }
    if (!l) {
      out += fmt::format("helper:      {} pid {}\n", k, pid);
    } else if (l->running) {
      out += fmt::format("helper:      {} pid {} running\n", k, pid);
    } else {
      out += fmt::format("helper:      {} pid {} not running (died)\n", k, pid);
      if (!l->log_tail.empty()) {
        out += "  last log:\n";
        std::string_view rest = l->log_tail;
        while (!rest.empty()) {
          auto nl = rest.find('\n');
          out += fmt::format("    {}\n", rest.substr(0, nl));
          rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        }
      }
    }
  }
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
        print_line(pod::to_json_text(*pods));
        return {};
      }
      std::string out = fmt::format("{:<24} {:<9} {:<20} {:<16} {}", "NAME", "PHASE", "IP", "NETWORKS", "SANDBOX KEY");
      for (const auto& p : *pods)
        out += fmt::format("\n{:<24} {:<9} {:<20} {:<16} {}", p.name, p.phase, first_address(p), networks(p),
                           p.netns_path.empty() ? "-" : p.netns_path);
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
      print_line(ia->json ? json_dump(pod::to_json(*info), 2) : text_inspect(*info));
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
      print_line(json_dump(*spec, 2));
      return {};
    };
  });
}

Registrar reg("pod", register_pod_inspect);

}  // namespace
}  // namespace podns::cli
