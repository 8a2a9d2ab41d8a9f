// podns gc [--json]: roll back crashed operations and remove what no pod owns.
#include "pod_common.hpp"
#include "podns/json_dump.hpp"

namespace podns::cli {
namespace {

void register_gc(CLI::App& app, Globals& g, Action& action) {
  auto* cmd = app.add_subcommand("gc", "Clean up after crashes: pins, state, CNI cache, leases, helpers without a pod");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "JSON output");
  cmd->callback([&g, &action, json] {
    action = [&g, json]() -> Status {
      auto report = pod::gc(pod_env(g));
      if (!report) return fail(report.error());
      if (*json) {
        nlohmann::json errors = nlohmann::json::array();
        for (const auto& e : report->errors) errors.push_back(e.message());
        print_line(json_dump(nlohmann::json{{"cleaned", report->cleaned}, {"errors", errors}}, 2));
      } else {
        for (const auto& line : report->cleaned) print_line(line);
        for (const auto& e : report->errors) fmt::print(stderr, "podns: gc: {}\n", e.message());
      }
      if (!report->errors.empty())
        return fail(Errc::busy, fmt::format("gc: {} object(s) could not be cleaned", report->errors.size()));
      return {};
    };
  });
}

Registrar reg("gc", register_gc);

}  // namespace
}  // namespace podns::cli
