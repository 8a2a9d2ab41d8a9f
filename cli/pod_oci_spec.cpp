// podns pod oci-spec NAME: the namespaces and id mappings a runtime's config.json needs to put a
// container in the pod.
#include <memory>

#include "pod_common.hpp"
#include "podns/json_dump.hpp"

namespace podns::cli {
namespace {

void register_pod_oci_spec(CLI::App& app, Globals& g, Action& action) {
  auto* cmd = pod_group(app).add_subcommand("oci-spec", "Print the namespaces and id mappings for a runtime's config.json");
  auto name = std::make_shared<std::string>();
  cmd->add_option("name", *name, "Pod name")->required();
  cmd->callback([&g, &action, name] {
    action = [&g, name]() -> Status {
      auto spec = pod::oci_spec(pod_env(g), *name);
      if (!spec) return fail(spec.error());
      print_line(json_dump(*spec, 2));
      return {};
    };
  });
}

Registrar pod_oci_spec_registrar("pod", register_pod_oci_spec);

}  // namespace
}  // namespace podns::cli
