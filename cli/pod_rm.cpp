// podns pod rm NAME... [--force]
#include "pod_common.hpp"

namespace podns::cli {
namespace {

void register_pod_rm(CLI::App& app, Globals& g, Action& action) {
  auto& pod = pod_group(app);
  auto* cmd = pod.add_subcommand("rm", "Remove pods: DEL their networks in reverse, unpin, drop the state");
  struct Args {
    std::vector<std::string> names;
    bool force = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("names", args->names, "Pod names")->required();
  cmd->add_flag("-f,--force", args->force,
                "Drop the state even when a DEL fails (reported as warnings); a missing pod is no error");
  cmd->callback([&g, &action, args] {
    action = [&g, args]() -> Status {
      auto env = pod_env(g);
      progress::enable(/*json=*/false);
      return for_each_name(
          args->names, [&](const std::string& name) { return pod::remove(env, name, {args->force}); }, "pod rm");
    };
  });
}

Registrar pod_rm_registrar("pod", register_pod_rm);

}  // namespace
}  // namespace podns::cli
