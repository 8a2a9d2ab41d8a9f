// podns ns monitor [--json]: pins added and removed as they happen, podns's and anyone else's
// (like `ip netns monitor`, for every namespace type), until SIGINT or SIGTERM.
#include <fmt/format.h>

#include <csignal>
#include <cstdio>

#include "ns_common.hpp"
#include "podns/json_dump.hpp"
#include "podns/pin_monitor.hpp"

namespace podns::cli {
namespace {

volatile std::sig_atomic_t g_stop = 0;

void on_stop_signal(int) { g_stop = 1; }

// Without SA_RESTART, so the monitor's poll() returns at once and the loop sees g_stop.
void stop_on(int sig) {
  struct sigaction sa{};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(sig, &sa, nullptr);
}

std::string event_line(const PinEvent& e, bool json) {
  if (!json) return fmt::format("{} {} {} {}", to_string(e.kind), to_string(e.type), e.name, e.path);
  nlohmann::ordered_json j;
  j["event"] = std::string(to_string(e.kind));
  j["type"] = std::string(to_string(e.type));
  j["name"] = e.name;
  j["path"] = e.path;
  return json_dump(j);
}

void register_ns_monitor(CLI::App& app, Globals& g, Action& action) {
  auto* cmd = ns_group(app).add_subcommand(
      "monitor", "Print pins as they are added and removed (any maker, every type) until interrupted");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "One JSON object per line");
  cmd->callback([&g, &action, json] {
    action = [&g, json]() -> Status {
      auto monitor = PinMonitor::open(g.paths());
      if (!monitor) return fail(monitor.error());
      stop_on(SIGINT);
      stop_on(SIGTERM);
      while (!g_stop) {
        auto events = monitor->wait(std::chrono::seconds(60));
        if (!events) return fail(events.error());
        for (const PinEvent& e : *events) print_line(event_line(e, *json));
        if (!events->empty()) std::fflush(stdout);
      }
      return {};
    };
  });
}

Registrar ns_monitor_registrar("ns", register_ns_monitor);

}  // namespace
}  // namespace podns::cli
