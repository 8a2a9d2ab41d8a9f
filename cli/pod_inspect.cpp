// podns pod inspect NAME [--json]: a pod's sandbox key, user namespace, pins, networks with their
// live state, ports and helper processes (with the end of a dead helper's log).
#include <memory>

#include "pod_common.hpp"
#include "podns/json_dump.hpp"

namespace podns::cli {
namespace {

std::string text_inspect(const pod::PodInfo& p) {
  std::string gone;
  if (p.live && p.live->netns == pod::NetnsLiveness::gone)
    gone = " (gone: the network namespace no longer exists; pod rm cleans up the rest)";
  std::string out = fmt::format("name:        {}\nphase:       {}\nsandbox key: {}{}\n", p.name, state::to_string(p.phase),
                                p.netns_path.empty() ? "-" : p.netns_path, gone);
  if (p.live && !p.live->error.empty()) out += fmt::format("live state:  unreadable: {}\n", p.live->error);
  if (!p.userns_path.empty()) out += fmt::format("userns:      {}\n", p.userns_path);
  if (p.userns_mappings) {
    for (const auto& [what, map] : {std::pair{"uid map", &p.userns_mappings->uid}, std::pair{"gid map", &p.userns_mappings->gid}}) {
      for (const auto& r : *map) out += fmt::format("{}:  {} -> {} ({} ids)\n", what, r.container_id, r.host_id, r.size);
    }
  }
  for (const auto& [t, path] : p.pins) out += fmt::format("ns {:<8} {}\n", to_string(t), path);
  for (const auto& n : p.networks) {
    out += fmt::format("network {} ({}):\n", n.network, pod::to_string(n.state));
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
  for (const auto& [kind, pid] : p.helpers) {
    const pod::HelperLive* l = nullptr;
    if (p.live) {
      for (const auto& h : p.live->helpers)
        if (h.kind == kind) l = &h;
    }
    std::string_view k = rootless::driver_name(kind);
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
  auto* cmd = pod_group(app).add_subcommand("inspect", "Show a pod: sandbox key, user namespace, networks, ports");
  struct Args {
    std::string name;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("name", args->name, "Pod name")->required();
  cmd->add_flag("--json", args->json, "JSON output");
  cmd->callback([&g, &action, args] {
    action = [&g, args]() -> Status {
      auto info = pod::inspect(pod_env(g), args->name);
      if (!info) return fail(info.error());
      print_line(args->json ? json_dump(pod::to_json(*info), 2) : text_inspect(*info));
      return {};
    };
  });
}

Registrar pod_inspect_registrar("pod", register_pod_inspect);

}  // namespace
}  // namespace podns::cli
