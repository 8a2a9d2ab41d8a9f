// podns gc [--json]: roll back crashed operations, retry pending CNI DELs and remove what no pod
// owns. podns gc --pending [--json]: list the pending CNI DELs, changing nothing.
#include <ctime>

#include "pod_common.hpp"
#include "podns/json_dump.hpp"

namespace podns::cli {
namespace {

std::string local_time(int64_t t) {
  if (t == 0) return "-";
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  localtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

Status list_pending(const Globals& g, bool json) {
  auto pending = pod::pending_dels(pod_env(g));
  if (!pending) return fail(pending.error());
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : *pending)
      out.push_back({{"network", p.network},
                     {"containerId", p.container_id},
                     {"ifname", p.ifname},
                     {"pod", p.pod},
                     {"netns", p.netns_path},
                     {"attempts", p.attempts},
                     {"lastError", p.last_error},
                     {"createdAt", p.created_at},
                     {"lastAttemptAt", p.last_attempt_at}});
    print_line(json_dump(out, 2));
    return {};
  }
  print_line(fmt::format("{:<20} {:<24} {:<8} {:>8}  {:<19}  {}", "NETWORK", "CONTAINER", "IFNAME", "ATTEMPTS",
                         "LAST TRIED", "LAST ERROR"));
  for (const auto& p : *pending)
    print_line(fmt::format("{:<20} {:<24} {:<8} {:>8}  {:<19}  {}", p.network, p.container_id, p.ifname, p.attempts,
                           local_time(p.last_attempt_at), p.last_error));
  return {};
}

void register_gc(CLI::App& app, Globals& g, Action& action) {
  auto* cmd = app.add_subcommand(
      "gc", "Clean up after crashes: pins, state, CNI cache, leases, helpers without a pod; retry pending CNI DELs");
  auto json = std::make_shared<bool>(false);
  auto pending = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "JSON output");
  cmd->add_flag("--pending", *pending, "Only list the CNI DELs still owed (retried by gc), change nothing");
  cmd->callback([&g, &action, json, pending] {
    action = [&g, json, pending]() -> Status {
      if (*pending) return list_pending(g, *json);
      auto env = pod_env(g);
      progress::enable(*json);
      env.on_progress = progress::callback();
      auto report = pod::gc(env);
      progress::clear();
      if (!report) return fail(report.error());
      if (*json) {
        nlohmann::json errors = nlohmann::json::array();
        for (const auto& e : report->errors) errors.push_back(e.message());
        nlohmann::json dels = {{"done", report->pending_dels_done}, {"left", report->pending_dels_left}};
        print_line(json_dump(nlohmann::json{{"cleaned", report->cleaned}, {"errors", errors}, {"pendingDels", dels}}, 2));
      } else {
        for (const auto& line : report->cleaned) print_line(line);
        for (const auto& e : report->errors) fmt::print(stderr, "podns: gc: {}\n", e.message());
        if (report->pending_dels_done + report->pending_dels_left > 0)
          print_line(fmt::format("pending CNI DELs: {} done, {} still pending{}", report->pending_dels_done,
                                 report->pending_dels_left,
                                 report->pending_dels_left ? " (podns gc --pending lists them)" : ""));
      }
      if (!report->errors.empty())
        return fail(Errc::busy, fmt::format("gc: {} object(s) could not be cleaned", report->errors.size()));
      return {};
    };
  });
}

Registrar gc_registrar("gc", register_gc);

}  // namespace
}  // namespace podns::cli
