// CNI runtime cost: ADD+DEL of a bridge chain (bridge with host-local IPAM, then tuning) through
// podns's Runtime, against the same plugin binaries called directly with the same configs
// (environment, stdin, prevResult chaining, nothing else), interleaved in the same run so machine
// noise hits both alike. The target: podns adds at most 1 ms per ADD or DEL.
//
// podns does more per operation than the bare calls: validation, a per-attachment flock, result
// parsing and version conversion, the result cache (temp file + fsync + rename + fsync(dir)) and
// its removal; that is what the difference measures.
//
// Needs root and containernetworking-plugins in /usr/lib/cni. Everything lives below a private temp
// dir (netns pin, cache, host-local data); the bridge is deleted at exit.
//
//   build/bench_cni                        # reports podns_ms, direct_ms, overhead_ms_per_op
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_dir.hpp"
#include "podns/cni/runtime.hpp"
#include "podns/pin.hpp"

extern char** environ;

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kPluginDir = "/usr/lib/cni";

// The bare way to call a plugin: spawn, write stdin, read stdout, wait.
std::string exec_plugin(const std::string& path, const std::vector<std::string>& env, const std::string& input,
                        bool* ok) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) < 0 || ::pipe2(out, O_CLOEXEC) < 0) std::abort();
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  std::vector<char*> argv = {const_cast<char*>(path.c_str()), nullptr};
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid;
  int rc = ::posix_spawn(&pid, path.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(out[1]);
  if (rc != 0) std::abort();
  // Configs are far below a pipe buffer: write it all, then read. (A plugin that exits without
  // reading stdin, as VERSION may, gives EPIPE; SIGPIPE is ignored in this process.)
  (void)!::write(in[1], input.data(), input.size());
  ::close(in[1]);
  std::string result;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(out[0], buf, sizeof buf)) > 0) result.append(buf, static_cast<std::size_t>(n));
  ::close(out[0]);
  int status;
  ::waitpid(pid, &status, 0);
  *ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return result;
}

std::vector<std::string> env_for(const std::string& cmd, const std::string& cid, const std::string& netns) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  for (std::string kv : {"CNI_COMMAND=" + cmd, "CNI_CONTAINERID=" + cid, "CNI_NETNS=" + netns,
                         std::string("CNI_IFNAME=eth0"), std::string("CNI_ARGS="), std::string("CNI_PATH=") + kPluginDir})
    env.push_back(kv);
  return env;
}

// ADD then DEL of `net` by calling each plugin binary directly, as a minimal runtime would.
bool direct_add_del(const podns::cni::NetworkConfigList& net, const std::string& cid, const std::string& netns) {
  json prev;
  bool ok = true;
  auto add_env = env_for("ADD", cid, netns);
  for (auto& p : net.plugins) {
    json cfg = p.raw;
    cfg["name"] = net.name;
    cfg["cniVersion"] = net.cni_version;
    if (!prev.is_null()) cfg["prevResult"] = prev;
    prev = json::parse(exec_plugin(std::string(kPluginDir) + "/" + p.type, add_env, cfg.dump(), &ok));
    if (!ok) return false;
  }
  auto del_env = env_for("DEL", cid, netns);
  for (auto it = net.plugins.rbegin(); it != net.plugins.rend(); ++it) {
    json cfg = it->raw;
    cfg["name"] = net.name;
    cfg["cniVersion"] = net.cni_version;
    cfg["prevResult"] = prev;
    exec_plugin(std::string(kPluginDir) + "/" + it->type, del_env, cfg.dump(), &ok);
    if (!ok) return false;
  }
  return true;
}

struct Setup {
  podns::bench::BenchDir temp;
  std::string dir = temp.path, bridge, netns;
  podns::Paths paths;
  podns::cni::NetworkConfigList net;
  bool ok = false;

  Setup() {
    if (::geteuid() != 0 || dir.empty()) return;
    paths = podns::Paths::under(dir + "/run", dir + "/state");
    bridge = "pbc" + std::to_string(::getpid() % 1000000);
    auto pin = podns::create_pinned(paths, podns::NamespaceType::net, "bench");
    if (!pin) {
      std::fprintf(stderr, "bench_cni: %s\n", pin.error().message().c_str());
      return;
    }
    netns = pin->path;
    json doc = {{"cniVersion", "1.0.0"},
                {"name", "benchnet"},
                {"plugins",
                 json::array({{{"type", "bridge"},
                               {"bridge", bridge},
                               {"isGateway", true},
                               {"ipam",
                                {{"type", "host-local"},
                                 {"ranges", json::array({json::array({{{"subnet", "10.199.77.0/24"}}})})},
                                 {"dataDir", dir + "/ipam"}}}},
                              {{"type", "tuning"}, {"sysctl", {{"net.core.somaxconn", "512"}}}}})}};
    auto l = podns::cni::parse_network_list(doc.dump());
    if (!l) return;
    net = *l;
    ok = true;
  }
  ~Setup() {
    if (!netns.empty()) (void)podns::remove_pinned(paths, "bench");
    if (!bridge.empty()) std::system(("ip link del " + bridge + " 2>/dev/null").c_str());
  }
};

Setup& setup() {
  static Setup s;
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void BM_CniBridgeAddDel(benchmark::State& state) {
  Setup& s = setup();
  if (!s.ok) {
    state.SkipWithError("needs root and /usr/lib/cni (containernetworking-plugins)");
    return;
  }
  podns::cni::RuntimeOptions o;
  o.plugin_dirs = {kPluginDir};
  const char* cache_env = std::getenv("BENCH_CNI_CACHE_DIR");
  o.cache_dir = cache_env && *cache_env ? std::string(cache_env) : s.dir + "/cache";
  podns::cni::Runtime rt(o);
  podns::cni::RuntimeConf conf;
  conf.container_id = "bench";
  conf.netns = s.netns;
  std::vector<double> podns_ms, direct_ms, podns_cpu, direct_cpu;
  // CPU time of this process (children excluded): what podns itself spends, independent of load.
  auto cpu_ms = [] {
    timespec ts;
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
  };
  for (auto _ : state) {
    // Alternate which goes first, so warm caches favour neither.
    for (int order = 0; order < 2; ++order) {
      bool podns_first = (state.iterations() + order) % 2 == 0;
      auto t0 = Clock::now();
      double c0 = cpu_ms();
      bool good;
      if (podns_first) {
        auto r = rt.add(s.net, conf);
        good = r.has_value() && rt.del(s.net, conf).has_value();
        podns_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        podns_cpu.push_back(cpu_ms() - c0);
      } else {
        good = direct_add_del(s.net, "bench", s.netns);
        direct_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        direct_cpu.push_back(cpu_ms() - c0);
      }
      if (!good) {
        state.SkipWithError("a plugin call failed");
        return;
      }
    }
  }
  double p = median(podns_ms), d = median(direct_ms);
  state.counters["podns_ms"] = p;
  state.counters["direct_ms"] = d;
  // Per ADD or per DEL: one ADD+DEL pair is two operations.
  state.counters["overhead_ms_per_op"] = (p - d) / 2;
  state.counters["podns_cpu_ms"] = median(podns_cpu);
  state.counters["direct_cpu_ms"] = median(direct_cpu);
  state.counters["cpu_overhead_ms_per_op"] = (median(podns_cpu) - median(direct_cpu)) / 2;
}
BENCHMARK(BM_CniBridgeAddDel)->Iterations(60)->Unit(benchmark::kMillisecond);

}  // namespace



namespace {

// One plugin process (VERSION of bridge) through podns's ProcessExec against the bare spawn above:
// the per-call cost of the deadline machinery (process group, pidfd, poll loop, captured stderr).
void BM_PluginExecVersion(benchmark::State& state) {
  std::signal(SIGPIPE, SIG_IGN);
  const std::string path = std::string(kPluginDir) + "/bridge";
  if (::access(path.c_str(), X_OK) != 0) {
    state.SkipWithError("needs /usr/lib/cni/bridge");
    return;
  }
  podns::cni::ProcessExec exec;
  podns::cni::ExecRequest req;
  req.path = path;
  req.env = env_for("VERSION", "", "");
  req.input = R"({"cniVersion":"1.0.0"})";
  std::vector<double> podns_ms, direct_ms;
  for (auto _ : state) {
    auto t0 = Clock::now();
    auto r = exec.run(req);
    auto t1 = Clock::now();
    bool ok;
    exec_plugin(path, req.env, req.input, &ok);
    auto t2 = Clock::now();
    if (!r || r->exit_code != 0 || !ok) {
      state.SkipWithError("VERSION failed");
      return;
    }
    podns_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    direct_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
  }
  state.counters["podns_ms"] = median(podns_ms);
  state.counters["direct_ms"] = median(direct_ms);
}
BENCHMARK(BM_PluginExecVersion)->Iterations(100)->Unit(benchmark::kMillisecond);

}  // namespace
BENCHMARK_MAIN();
