// podns pod ls [--json]: every pod, its phase, first address, networks and sandbox key.
#include <memory>

#include "pod_common.hpp"

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

void register_pod_ls(CLI::App& app, Globals& g, Action& action) {
  auto* ls = pod_group(app).add_subcommand("ls", "List pods");
  ls->alias("list");
  auto as_json = std::make_shared<bool>(false);
  ls->add_flag("--json", *as_json, "JSON output");
  ls->callback([&g, &action, as_json] {
    action = [&g, as_json]() -> Status {
      auto pods = pod::list(pod_env(g));
      if (!pods) return fail(pods.error());
      if (*as_json) {
        print_line(pod::to_json_text(*pods));
        return {};
      }
      std::string out = fmt::format("{:<24} {:<9} {:<20} {:<16} {}", "NAME", "PHASE", "IP", "NETWORKS", "SANDBOX KEY");
      for (const auto& p : *pods)
        out += fmt::format("\n{:<24} {:<9} {:<20} {:<16} {}", p.name, state::to_string(p.phase), first_address(p), networks(p),
                           p.netns_path.empty() ? "-" : p.netns_path);
      print_line(out);
      return {};
    };
  });
}

Registrar pod_ls_registrar("pod", register_pod_ls);

}  // namespace
}  // namespace podns::cli
