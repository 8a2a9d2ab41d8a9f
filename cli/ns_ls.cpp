// podns ns ls [--json]: every pin, netns first (like `ip netns list`, plus the other types).
#include <fmt/format.h>

#include "ns_common.hpp"
#include "podns/json_dump.hpp"

namespace podns::cli {
namespace {

void register_ns_ls(CLI::App& app, Globals& g, Action& action) {
  auto* cmd = ns_group(app).add_subcommand("ls", "List pinned namespaces");
  cmd->alias("list");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "JSON output");
  cmd->callback([&g, &action, json] {
    action = [&g, json]() -> Status {
      auto pins = list_pins(g.paths());
      if (!pins) return fail(pins.error());
      if (*json) {
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        for (const auto& p : *pins) out.push_back(pin_json(p));
        print_line(json_dump(out, 2));
        return {};
      }
      if (pins->empty()) return {};
      print_line(fmt::format("{:<40} {:<7} {:<12} {:<6} {}", "NAME", "TYPE", "INODE", "NSID", "PATH"));
      for (const auto& p : *pins) {
        std::string inode = p.live ? std::to_string(p.id.ino) : "(stale)";
        std::string nsid = p.nsid ? std::to_string(*p.nsid) : "-";
        print_line(fmt::format("{:<40} {:<7} {:<12} {:<6} {}", p.name, to_string(p.type), inode, nsid, p.path));
      }
      return {};
    };
  });
}

Registrar ns_ls_registrar("ns", register_ns_ls);

}  // namespace
}  // namespace podns::cli
