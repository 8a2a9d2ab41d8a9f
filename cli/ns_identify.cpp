// podns ns identify [PID] [--json]: the pins PID (default: podns itself) is in, like
// `ip netns identify`. Netns pins print as NAME, others as "NAME (TYPE)".
#include <unistd.h>

#include <fmt/format.h>

#include "ns_common.hpp"
#include "podns/json_dump.hpp"

namespace podns::cli {
namespace {

void register_ns_identify(CLI::App& app, Globals& g, Action& action) {
  auto* cmd = ns_group(app).add_subcommand("identify", "Show which pins a process is in");
  struct Args {
    pid_t pid = 0;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("pid", args->pid, "Process ID (default: this process)");
  cmd->add_flag("--json", args->json, "JSON output");
  cmd->callback([&g, &action, args] {
    action = [&g, args]() -> Status {
      pid_t pid = args->pid > 0 ? args->pid : ::getpid();
      if (args->pid < 0) return fail(Errc::invalid_argument, fmt::format("identify: PID {} is not valid", args->pid));
      auto pins = identify(g.paths(), pid);
      if (!pins) return fail(pins.error());
      if (args->json) {
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        for (const auto& p : *pins) out.push_back(pin_json(p));
        print_line(json_dump(out, 2));
        return {};
      }
      for (const auto& p : *pins)
        print_line(p.type == NamespaceType::net ? p.name : fmt::format("{} ({})", p.name, to_string(p.type)));
      return {};
    };
  });
}

Registrar ns_identify_registrar("ns", register_ns_identify);

}  // namespace
}  // namespace podns::cli
