// podns cni ls [--json]: the networks of the conf dir, in the order a runtime loads them.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <memory>
#include <vector>

#include "cni_common.hpp"
#include "podns/json_dump.hpp"

namespace podns::cli {
namespace {

using nlohmann::json;

void register_cni_ls(CLI::App& app, Globals&, Action& action) {
  auto flags = std::make_shared<CniFlags>();
  auto as_json = std::make_shared<bool>(false);
  auto* cmd = cni_group(app).add_subcommand("ls", "List the networks in the conf dir, in load order");
  flags->add_to(cmd);
  cmd->add_flag("--json", *as_json, "JSON output");
  cmd->callback([&action, flags, as_json] {
    action = [flags, as_json]() -> Status {
      auto nets = cni::load_networks(flags->effective_conf_dir());
      if (!nets) return fail_with(nets, "cni ls");
      if (*as_json) {
        json out = json::array();
        for (auto& n : *nets) {
          json types = json::array();
          for (auto& p : n.plugins) types.push_back(p.type);
          out.push_back({{"name", n.name}, {"cniVersion", n.cni_version}, {"plugins", types}, {"file", n.source}});
        }
        print_line(json_dump(out, 2));
      } else {
        print_line(fmt::format("{:<20} {:<8} {:<40} {}", "NAME", "VERSION", "PLUGINS", "FILE"));
        for (auto& n : *nets) {
          std::vector<std::string> types;
          for (auto& p : n.plugins) types.push_back(p.type);
          print_line(fmt::format("{:<20} {:<8} {:<40} {}", n.name, n.cni_version, fmt::format("{}", fmt::join(types, ",")),
                                 n.source));
        }
      }
      return {};
    };
  });
}

Registrar cni_ls_registrar("cni", register_cni_ls);

}  // namespace
}  // namespace podns::cli
