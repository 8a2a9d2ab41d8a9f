// podns cni status NET: STATUS (CNI 1.1.0) of every plugin of NET that supports it; fails with the
// first plugin that says it cannot take ADDs.
#include <memory>

#include "cni_common.hpp"

namespace podns::cli {
namespace {

void register_cni_status(CLI::App& app, Globals& g, Action& action) {
  auto flags = std::make_shared<CniFlags>();
  auto net = std::make_shared<std::string>();
  auto* cmd = cni_group(app).add_subcommand("status", "Ask every plugin of NET that supports it (CNI 1.1.0) for STATUS");
  flags->add_to(cmd);
  cmd->add_option("NET", *net, "Network name")->required();
  cmd->callback([&g, &action, flags, net] {
    action = [&g, flags, net]() -> Status {
      auto n = flags->load(*net);
      if (!n) return fail_with(n, "cni status");
      return flags->runtime(g).status(*n);
    };
  });
}

Registrar cni_status_registrar("cni", register_cni_status);

}  // namespace
}  // namespace podns::cli
