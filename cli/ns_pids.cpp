// podns ns pids NAME [--type T] [--json]: the processes inside a pin (default its netns, else the
// only pin of that name), like `ip netns pids`.
#include <fmt/format.h>

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
      auto pins = find_pins(g.paths(), args->name);
      if (!pins) return fail(pins.error());
      std::erase_if(*pins, [](const PinEntry& p) { return !p.live; });
      const PinEntry* pin = nullptr;
      if (!args->type.empty()) {
        auto t = parse_namespace_type(args->type);
        if (!t) return fail_with(t, "--type");
        for (const auto& p : *pins)
          if (p.type == *t) pin = &p;
      } else {
        for (const auto& p : *pins)
          if (p.type == NamespaceType::net) pin = &p;
        if (!pin && pins->size() == 1) pin = &pins->front();
        if (!pin && pins->size() > 1)
          return fail(Errc::invalid_argument, fmt::format("pids {}: several pins of that name, choose one with --type", args->name));
      }
      if (!pin) return fail(Errc::not_found, fmt::format("pids {}: no such pin", args->name));
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
