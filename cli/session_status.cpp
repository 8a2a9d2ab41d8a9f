// podns session status [--json]: the rootless session's pause process and id maps.
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "podns/json_dump.hpp"
#include "session_common.hpp"

namespace podns::cli {
namespace {

std::string text(const rootless::SessionInfo& s) {
  auto without_newline = [](const std::string& map) { return map.empty() ? map : map.substr(0, map.size() - 1); };
  return fmt::format("pause pid:  {}\npid file:   {}\nuid map:    {}\ngid map:    {}", s.pid, s.pid_file,
                     without_newline(s.uid_map), without_newline(s.gid_map));
}

void register_session_status(CLI::App& app, Globals& g, Action& action) {
  auto* status = session_group(app).add_subcommand("status", "Show the session's pause process and id maps");
  auto json = std::make_shared<bool>(false);
  status->add_flag("--json", *json, "JSON output");
  status->callback([&g, &action, json] {
    action = [&g, json]() -> Status {
      if (::geteuid() == 0) {
        print_line(*json ? json_dump(nlohmann::json{{"running", false}, {"reason", "root needs no session"}}, 2)
                         : "root needs no session");
        return {};
      }
      auto found = rootless::find_session(g.paths().run_dir);
      if (!found) return fail(found.error());
      if (*json) {
        nlohmann::json j = {{"running", found->has_value()}};
        if (*found) j["session"] = **found;
        print_line(json_dump(j, 2));
      } else {
        print_line(*found ? text(**found) : "no session");
      }
      return {};
    };
  });
}

Registrar session_status_registrar("session", register_session_status);

}  // namespace
}  // namespace podns::cli
