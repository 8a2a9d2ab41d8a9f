// podns session stop [--force]: stop the rootless session now (idempotent: none running is fine).
#include <fmt/format.h>

#include "session_common.hpp"

namespace podns::cli {
namespace {

void register_session_stop(CLI::App& app, Globals& g, Action& action) {
  auto* stop =
      session_group(app).add_subcommand("stop", "Stop the session (refused while pods or namespaces are pinned)");
  auto force = std::make_shared<bool>(false);
  stop->add_flag("--force", *force, "Stop even with pins: their pods become broken (pod rm / gc remove them)");
  stop->callback([&g, &action, force] {
    action = [&g, force]() -> Status {
      rootless::SessionOptions options;
      options.run_dir = g.paths().run_dir;
      auto stopped = rootless::stop_session(options, *force);
      if (!stopped) return fail(stopped.error());
      if (*stopped) print_line(fmt::format("stopped pause process {}", **stopped));
      return {};
    };
  });
}

Registrar session_stop_registrar("session", register_session_stop);

}  // namespace
}  // namespace podns::cli
