// podns ns add [NAME] [--type T]...: new namespaces pinned as NAME (default type net, like
// `ip netns add`; several types in one call, like CRI-O's pinns). Prints each pin path.
#include "ns_common.hpp"
#include "podns/names.hpp"
#include "ns_userns.hpp"

namespace podns::cli {
namespace {

void register_ns_add(CLI::App& app, Globals& g, Action& action) {
  auto* cmd = ns_group(app).add_subcommand("add", "Create namespaces and pin them (default: a network namespace)");
  struct Args {
    std::string name;
    std::vector<std::string> types;
    UsernsAddArgs userns;  // --map/--gid-map/--setgroups/--sysctl/--owner-of (ns_userns.hpp)
  };
  auto args = std::make_shared<Args>();
  auto* name_opt = cmd->add_option("name", args->name, "Pin name (default: a random cni-xxxxxxxx-... name)");
  cmd->add_option("-t,--type", args->types, "Namespace type (net ipc uts mnt pid cgroup time; OCI names too), repeatable")
      ->allow_extra_args(false);
  add_userns_add_options(cmd, args->userns);
  cmd->callback([&g, &action, args, name_opt] {
    // An explicitly empty NAME is an error, not a request for a random one.
    bool empty_given = name_opt->count() > 0 && args->name.empty();
    action = [&g, args, empty_given]() -> Status {
      if (empty_given) {
        if (auto st = validate_name(""); !st) return fail_with(st, "create namespaces");
      }
      auto types = parse_types(args->types, {NamespaceType::net});
      if (!types) return fail(types.error());
      // A user namespace set, sysctls or --owner-of: the userns code path.
      if (auto done = run_userns_add(g.paths(), args->name, *types, args->userns)) {
        if (!*done) return fail(done->error());
        for (const auto& p : **done) print_line(p);
        return {};
      }
      auto pins = create_pinned(g.paths(), *types, args->name);
      if (!pins) return fail(pins.error());
      for (const auto& p : *pins) print_line(p.path);
      return {};
    };
  });
}

Registrar reg("ns", register_ns_add);

}  // namespace
}  // namespace podns::cli
