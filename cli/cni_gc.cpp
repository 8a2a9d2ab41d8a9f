// podns cni gc NET [--valid ID[:IFNAME]]...: DEL the cached attachments of NET that are not listed,
// then GC (CNI 1.1.0, cni.dev/valid-attachments) in every plugin that supports it.
#include <memory>
#include <vector>

#include "cni_common.hpp"
#include "podns/names.hpp"

namespace podns::cli {
namespace {

void register_cni_gc(CLI::App& app, Globals& g, Action& action) {
  auto flags = std::make_shared<CniFlags>();
  auto net = std::make_shared<std::string>();
  auto valid = std::make_shared<std::vector<std::string>>();
  auto* cmd = cni_group(app).add_subcommand(
      "gc", "DEL cached attachments of NET not listed with --valid, then GC in every plugin that supports it");
  flags->add_to(cmd);
  cmd->add_option("NET", *net, "Network name")->required();
  cmd->add_option("--valid", *valid, "An attachment to keep: CONTAINER_ID or CONTAINER_ID:IFNAME (default eth0)");
  cmd->callback([&g, &action, flags, net, valid] {
    action = [&g, flags, net, valid]() -> Status {
      auto n = flags->load(*net);
      if (!n) return fail_with(n, "cni gc");
      std::vector<cni::Attachment> keep;
      for (auto& v : *valid) {
        auto colon = v.find(':');
        cni::Attachment a{v.substr(0, colon), colon == std::string::npos ? "eth0" : v.substr(colon + 1)};
        if (auto st = cni::validate_container_id(a.container_id); !st) return fail_with(st, "--valid");
        if (auto st = validate_ifname(a.ifname); !st) return fail_with(st, "--valid");
        keep.push_back(std::move(a));
      }
      return flags->runtime(g).gc(*n, keep);
    };
  });
}

Registrar cni_gc_registrar("cni", register_cni_gc);

}  // namespace
}  // namespace podns::cli
