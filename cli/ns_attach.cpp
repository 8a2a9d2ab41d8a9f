// podns ns attach NAME PID [--type T]...: pin the namespaces of a running process (like
// `ip netns attach`), race-free through a pidfd.
#include "ns_common.hpp"

namespace podns::cli {
namespace {

void register_ns_attach(CLI::App& app, Globals& g, Action& action) {
  auto* cmd = ns_group(app).add_subcommand("attach", "Pin the namespaces of a running process");
  struct Args {
    std::string name;
    pid_t pid = 0;
    std::vector<std::string> types;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("name", args->name, "Pin name")->required();
  cmd->add_option("pid", args->pid, "Process ID")->required();
  cmd->add_option("-t,--type", args->types, "Namespace type (default net), repeatable")->allow_extra_args(false);
  cmd->callback([&g, &action, args] {
    action = [&g, args]() -> Status {
      auto types = parse_types(args->types, {NamespaceType::net});
      if (!types) return fail(types.error());
      auto pins = attach(g.paths(), args->name, args->pid, *types);
      if (!pins) return fail(pins.error());
      for (const auto& p : *pins) print_line(p.path);
      return {};
    };
  });
}

Registrar ns_attach_registrar("ns", register_ns_attach);

}  // namespace
}  // namespace podns::cli
