// podns ns pids NAME [--type T] [--json]: the processes inside a pin (default its netns, else the
// only pin of that name), like `ip netns pids`.
#include "ns_common.hpp"
#include "podns/json_dump.hpp"

namespace podns::cli {
namespace {

void register_ns_pids(CLI::App& app, Globals& g, Action& action) {
  auto* cmd = ns_group(app).add_subcommand("pids", "List the processes inside a pinned namespace");
  struct Args {
    std::string name;
    std::string type;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("name", args->name, "Pin name")->required();
  cmd->add_option("-t,--type", args->type, "Namespace type (default: net, or the only pin of that name)");
  cmd->add_flag("--json", args->json, "JSON output");
  cmd->callback([&g, &action, args] {
    action = [&g, args]() -> Status {
      auto type = parse_optional_type(args->type);
      if (!type) return fail(type.error());
      auto pin = find_pin(g.paths(), args->name, *type);
      if (!pin) return fail_with(pin, "pids");
      auto pids = pids_in(pin->type, pin->id);
      if (!pids) return fail(pids.error());
      if (args->json) {
        print_line(json_dump(nlohmann::json(*pids)));
        return {};
      }
      for (pid_t p : *pids) print_line(std::to_string(p));
      return {};
    };
  });
}

Registrar ns_pids_registrar("ns", register_ns_pids);

}  // namespace
}  // namespace podns::cli
