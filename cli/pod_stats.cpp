// podns pod stats [NAME] [--json] [--watch [--interval S] [--count N]]
//
// Per pod interface counters (rx/tx bytes, packets, errors, drops) from rtnetlink
// (pod::StatsReader): pods on native networks from one dump of the host's links, the others
// through a socket kept open inside each pod's netns. Loopback is left out.
#include <fmt/chrono.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>

#include "pod_common.hpp"
#include "podns/net/json.hpp"
#include "podns/net/stats.hpp"
#include "podns/pod/stats.hpp"
#include "podns/json_dump.hpp"

namespace podns::cli {
namespace {

struct StatsArgs {
  std::string name;
  bool json = false;
  bool watch = false;
  double interval = 1.0;
  int count = 0;  // frames to draw with --watch; 0 = until interrupted
};

using pod::PodStats;

nlohmann::json to_json(const std::vector<PodStats>& rows) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& r : rows) {
    nlohmann::json j = {{"pod", r.pod}, {"netns", r.netns}};
    if (r.interfaces) j["interfaces"] = *r.interfaces;
    if (r.error) j["error"] = r.error->message();
    a.push_back(std::move(j));
  }
  return a;
}

std::string table(const std::vector<PodStats>& rows) {
  std::size_t pod_w = 3;
  for (const auto& r : rows) pod_w = std::max(pod_w, r.pod.size());
  std::string out = fmt::format("{:<{}} {:<15} {:>14} {:>10} {:>7} {:>8} {:>14} {:>10} {:>7} {:>8}", "POD", pod_w,
                                "IFACE", "RX-BYTES", "RX-PKTS", "RX-ERR", "RX-DROP", "TX-BYTES", "TX-PKTS", "TX-ERR",
                                "TX-DROP");
  for (const auto& r : rows) {
    if (!r.interfaces) continue;
    for (const auto& i : *r.interfaces) {
      const auto& s = i.stats;
      out += fmt::format("\n{:<{}} {:<15} {:>14} {:>10} {:>7} {:>8} {:>14} {:>10} {:>7} {:>8}", r.pod, pod_w, i.ifname,
                         s.rx_bytes, s.rx_packets, s.rx_errors, s.rx_dropped, s.tx_bytes, s.tx_packets, s.tx_errors,
                         s.tx_dropped);
    }
  }
  return out;
}

Status run_stats(const Globals& g, const StatsArgs& a) {
  pod::StatsReader reader(pod_env(g));
  for (int frame = 1;; ++frame) {
    auto read = reader.read(a.name);
    if (!read) return fail(read.error());
    const std::vector<PodStats>& rows = *read;
    // One pod asked for by name: its failure is the command's failure.
    if (!a.name.empty() && rows.size() == 1 && rows[0].error) return fail(*rows[0].error);

    if (a.watch && !a.json) {
      // Home + clear screen, then the frame, like watch(1).
      std::time_t now = std::time(nullptr);
      std::fputs("\033[H\033[2J", stdout);
      print_line(fmt::format("Every {:.1f}s: podns pod stats{}    {:%H:%M:%S}", a.interval,
                             a.name.empty() ? "" : " " + a.name, fmt::localtime(now)));
      print_line("");
    }
    if (a.json) {
      print_line(a.watch ? json_dump(to_json(rows)) : json_dump(to_json(rows), 2));  // --watch: one document per line
    } else {
      print_line(table(rows));
    }
    bool failed = false;
    for (const auto& r : rows) {
      if (!r.error) continue;
      failed = true;
      if (a.watch && !a.json)
        print_line(fmt::format("error: {}", r.error->message()));
      else if (!a.json)
        fmt::print(stderr, "podns: {}\n", r.error->message());
    }
    std::fflush(stdout);
    if (!a.watch) {
      if (failed) return fail(Errc::not_found, "stats of some pods could not be read");
      return {};
    }
    if (a.count > 0 && frame >= a.count) return {};
    std::this_thread::sleep_for(std::chrono::duration<double>(a.interval));
  }
}

void register_pod_stats(CLI::App& app, Globals& g, Action& action) {
  auto& pod = pod_group(app);
  auto* cmd = pod.add_subcommand("stats", "Interface counters of pods (rx/tx bytes, packets, errors, drops)");
  auto args = std::make_shared<StatsArgs>();
  cmd->add_option("name", args->name, "Pod name (default: every ready pod)");
  cmd->add_flag("--json", args->json, "JSON output (with --watch: one JSON document per line and frame)");
  auto* watch = cmd->add_flag("--watch,-w", args->watch, "Redraw every --interval seconds until interrupted");
  cmd->add_option("--interval", args->interval, "Seconds between --watch frames (default 1)")
      ->check(CLI::PositiveNumber)
      ->needs(watch);
  cmd->add_option("--count", args->count, "Stop --watch after N frames")->check(CLI::PositiveNumber)->needs(watch);
  cmd->callback([&g, &action, args] { action = [&g, args]() -> Status { return run_stats(g, *args); }; });
}

Registrar pod_stats_registrar("pod", register_pod_stats);

}  // namespace
}  // namespace podns::cli
