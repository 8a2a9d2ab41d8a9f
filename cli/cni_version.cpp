// podns cni version NET [--json]: the CNI versions each plugin of NET supports (VERSION).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <memory>

#include "cni_common.hpp"
#include "podns/json_dump.hpp"

namespace podns::cli {
namespace {

using nlohmann::json;

void register_cni_version(CLI::App& app, Globals& g, Action& action) {
  auto flags = std::make_shared<CniFlags>();
  auto net = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  auto* cmd = cni_group(app).add_subcommand("version", "The CNI versions each plugin of NET supports (VERSION)");
  flags->add_to(cmd);
  cmd->add_option("NET", *net, "Network name")->required();
  cmd->add_flag("--json", *as_json, "JSON output");
  cmd->callback([&g, &action, flags, net, as_json] {
    action = [&g, flags, net, as_json]() -> Status {
      auto n = flags->load(*net);
      if (!n) return fail_with(n, "cni version");
      auto infos = flags->runtime(g).versions(*n);
      if (!infos) return fail(infos.error());
      if (*as_json) {
        json out = json::array();
        for (auto& i : *infos)
          out.push_back({{"type", i.type}, {"path", i.path}, {"cniVersion", i.cni_version},
                         {"supportedVersions", i.supported}});
        print_line(json_dump(json{{"network", n->name}, {"cniVersion", n->cni_version}, {"plugins", out}}, 2));
      } else {
        print_line(fmt::format("network {} (cniVersion {})", n->name, n->cni_version));
        for (auto& i : *infos) print_line(fmt::format("  {:<12} {}  [{}]", i.type, i.path, fmt::join(i.supported, ", ")));
      }
      return {};
    };
  });
}

Registrar cni_version_registrar("cni", register_cni_version);

}  // namespace
}  // namespace podns::cli
