// podns ns rm NAME... [--type T]...: unmount and unlink pins (every type of that name unless
// --type). Idempotent: a name with no pins is no error.
#include "ns_common.hpp"

namespace podns::cli {
namespace {

void register_ns_rm(CLI::App& app, Globals& g, Action& action) {
  auto* cmd = ns_group(app).add_subcommand("rm", "Remove pins (an absent pin is no error)");
  cmd->alias("del");
  struct Args {
    std::vector<std::string> names;
    std::vector<std::string> types;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("names", args->names, "Pin names")->required();
  cmd->add_option("-t,--type", args->types, "Only this namespace type, repeatable")->allow_extra_args(false);
  cmd->callback([&g, &action, args] {
    action = [&g, args]() -> Status {
      auto types = parse_types(args->types, {});
      if (!types) return fail(types.error());
      // Silent on success, as `ip netns del` is.
      return for_each_name(
          args->names,
          [&](const std::string& name) -> Status {
            if (auto st = remove_pinned(g.paths(), name, *types); !st)
              return fail(Error(st.error()).context("rm " + name));
            return {};
          },
          {}, EchoDone::no);
    };
  });
}

Registrar ns_rm_registrar("ns", register_ns_rm);

}  // namespace
}  // namespace podns::cli
