// podns-bridge against the reference chain bridge + host-local + portmap, both exec'd by the same
// CNI runtime (Go libcni 1.1.2, tests/plugin/libcni) the same way: ADD then DEL of one container
// with one published port, 1.0.0 conflists, interleaved in one run so the machine's noise hits
// both alike. The target: podns-bridge at least 10x faster.
//
// Both run inside a throwaway "node" netns (the driver and its plugins are nsenter'ed there):
// their bridges, iptables chains and nftables tables die with it, and the host is never touched.
// libcni measures each ADD and DEL itself (its own start-up is not counted; each plugin's is, as
// a runtime pays it).
//
// Needs root, containernetworking-plugins in /usr/lib/cni, and podns-libcni (golang-go and
// golang-github-appc-cni-dev).
//
//   build/bench/bench_plugin     # podns_add_ms, podns_del_ms, ref_add_ms, ref_del_ms, speedup;
//                                # exec_ms, inprocess_ms (podns's runtime: exec vs in process)
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_dir.hpp"
#include "podns/cni/runtime.hpp"
#include "podns/fd.hpp"
#include "podns/paths.hpp"
#include "podns/pod/plugin.hpp"
#include "podns/state/store.hpp"

extern char** environ;

namespace {

using nlohmann::json;

// Run argv to completion; its stdout, or nullopt when it failed (stderr goes to ours).
std::optional<std::string> run(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {}) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) < 0) return std::nullopt;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> a, e;
  for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  for (auto& s : env) e.push_back(const_cast<char*>(s.c_str()));
  e.push_back(nullptr);
  pid_t pid;
  int rc = ::posix_spawnp(&pid, a[0], &fa, nullptr, a.data(), e.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    return std::nullopt;
  }
  std::string s;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(out[0], buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return s;
}

// A netns pinned on a file below the bench dir (unshare(1) binds it there).
bool pin_netns(const std::string& path) {
  std::ofstream(path).close();
  return run({"unshare", "--net=" + path, "true"}).has_value();
}

double median_ms(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2] / 1000.0;
}

void BM_AddDelViaLibcni(benchmark::State& state) {
  if (::geteuid() != 0) return state.SkipWithError("needs root");
  if (::access(PODNS_LIBCNI_DRIVER, X_OK) != 0)
    return state.SkipWithError("podns-libcni not built (golang-go, golang-github-appc-cni-dev)");
  if (::access("/usr/lib/cni/portmap", X_OK) != 0) return state.SkipWithError("containernetworking-plugins missing");
  podns::bench::BenchDir dir;
  const std::string node = dir.path + "/node", pod = dir.path + "/pod";
  if (!pin_netns(node) || !pin_netns(pod)) return state.SkipWithError("cannot pin a netns");
  const std::string cni_path = std::filesystem::path(PODNS_BRIDGE_PATH).parent_path().string() + ":/usr/lib/cni";
  const json caps = {{"portMappings", {{{"hostPort", 8080}, {"containerPort", 80}, {"protocol", "tcp"}}}}};
  auto write = [&](const std::string& name, const json& plugins) {
    std::string path = dir.path + "/" + name + ".conflist";
    std::ofstream(path) << json{{"cniVersion", "1.0.0"}, {"name", name}, {"plugins", plugins}}.dump();
    return path;
  };
  const std::string podns_conf = write(
      "podnsnet", json::array({{{"type", "podns-bridge"}, {"bridge", "pbr0"}, {"isGateway", true}, {"ipMasq", true},
                                {"ipam", {{"type", "host-local"}, {"ranges", {{{{"subnet", "10.77.1.0/24"}}}}}}},
                                {"capabilities", {{"portMappings", true}}},
                                {"podnsStateDir", dir.path + "/state"},
                                {"podnsRunDir", dir.path + "/run"}}}));
  const std::string ref_conf = write(
      "refnet", json::array({{{"type", "bridge"}, {"bridge", "rbr0"}, {"isGateway", true}, {"ipMasq", true},
                              {"ipam", {{"type", "host-local"}, {"ranges", {{{{"subnet", "10.77.2.0/24"}}}}},
                                        {"dataDir", dir.path + "/host-local"}}}},
                             {{"type", "portmap"}, {"capabilities", {{"portMappings", true}}}, {"snat", true}}}));
  auto cycle = [&](const std::string& conf, const std::string& id, int n) -> std::optional<json> {
    auto out = run({"nsenter", "--net=" + node, PODNS_LIBCNI_DRIVER, "cycle", "-conf", conf, "-netns", pod, "-id", id,
                    "-n", std::to_string(n), "-cap-args", caps.dump(), "-cache-dir", dir.path + "/cache"},
                   {"CNI_PATH=" + cni_path});
    if (!out) return std::nullopt;
    auto j = json::parse(*out, nullptr, false);
    if (!j.is_object()) return std::nullopt;
    return j;
  };
  // The first call of each makes its bridge, table or chains: not what a pod pays.
  if (!cycle(podns_conf, "warm-p", 1) || !cycle(ref_conf, "warm-r", 1))
    return state.SkipWithError("a warm-up cycle failed (see stderr)");
  std::vector<double> p_add, p_del, r_add, r_del;
  int round = 0;
  for (auto _ : state) {
    // Interleaved, five of each per round.
    auto p = cycle(podns_conf, "p" + std::to_string(round), 5);
    auto r = cycle(ref_conf, "r" + std::to_string(round), 5);
    ++round;
    if (!p || !r) return state.SkipWithError("a cycle failed (see stderr)");
    for (double v : (*p)["add_us"]) p_add.push_back(v);
    for (double v : (*p)["del_us"]) p_del.push_back(v);
    for (double v : (*r)["add_us"]) r_add.push_back(v);
    for (double v : (*r)["del_us"]) r_del.push_back(v);
  }
  state.counters["podns_add_ms"] = median_ms(p_add);
  state.counters["podns_del_ms"] = median_ms(p_del);
  state.counters["ref_add_ms"] = median_ms(r_add);
  state.counters["ref_del_ms"] = median_ms(r_del);
  double podns = median_ms(p_add) + median_ms(p_del), ref = median_ms(r_add) + median_ms(r_del);
  state.counters["speedup"] = podns > 0 ? ref / podns : 0;
  // The node netns (and with it both bridges, the table and the chains) goes with the bench dir.
}
BENCHMARK(BM_AddDelViaLibcni)->Iterations(6)->Unit(benchmark::kMillisecond);

// podns's own CNI runtime meeting podns-bridge: what it does (exec the plugin, as any runtime)
// against what it could do (call the driver in process: pod::plugin_add / plugin_del, what the
// plugin runs after parsing its input). ADD+DEL of one container, interleaved. The whole process
// works inside a throwaway node netns meanwhile (the bench runs on one thread), so the plugin it
// exec's, the bridge and the table live there too.
void BM_PodnsRuntimeExecVsInProcess(benchmark::State& state) {
  if (::geteuid() != 0) return state.SkipWithError("needs root");
  podns::bench::BenchDir dir;
  const std::string node = dir.path + "/node", pod = dir.path + "/pod";
  if (!pin_netns(node) || !pin_netns(pod)) return state.SkipWithError("cannot pin a netns");
  podns::UniqueFd home(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  podns::UniqueFd there(::open(node.c_str(), O_RDONLY | O_CLOEXEC));
  if (!home || !there || ::setns(there.get(), CLONE_NEWNET) != 0) return state.SkipWithError("cannot enter the node netns");
  {
    const json plugin = {{"type", "podns-bridge"}, {"bridge", "pbr1"}, {"isGateway", true}, {"ipMasq", true},
                         {"ipam", {{"type", "host-local"}, {"ranges", {{{{"subnet", "10.77.3.0/24"}}}}}}},
                         {"podnsStateDir", dir.path + "/state"}, {"podnsRunDir", dir.path + "/run"}};
    auto list = podns::cni::parse_network_list(
        json{{"cniVersion", "1.0.0"}, {"name", "inproc"}, {"plugins", json::array({plugin})}}.dump());
    podns::cni::RuntimeOptions o;
    o.plugin_dirs = {std::filesystem::path(PODNS_BRIDGE_PATH).parent_path().string()};
    o.cache_dir = dir.path + "/cache";
    podns::cni::Runtime rt(std::move(o));
    auto env = podns::pod::PodEnv::from_paths(podns::Paths::under(dir.path + "/run", dir.path + "/state"));
    podns::pod::PluginAddRequest req;
    req.network.name = "inproc";
    req.network.bridge = "pbr1";
    req.network.subnets = {{"10.77.3.0/24", "", "", "", ""}};
    req.netns_path = pod;
    req.default_route = true;
    std::vector<double> exec_us, inproc_us;
    bool ok = static_cast<bool>(list);
    auto now = [] { return std::chrono::steady_clock::now(); };
    auto us = [](auto d) { return static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(d).count()); };
    // Warm-up: the network, its bridge and the table are made once.
    if (ok) ok = rt.add(*list, {"warm", pod, "eth0", {}, json::object()}) && rt.del(*list, {"warm", pod, "eth0", {}, {}});
    int i = 0;
    for (auto _ : state) {
      if (!ok) break;
      const std::string id = "c" + std::to_string(i++);
      auto t0 = now();
      ok = rt.add(*list, {id, pod, "eth0", {}, json::object()}) && rt.del(*list, {id, pod, "eth0", {}, {}});
      auto t1 = now();
      req.key = {"inproc", id + "i", "eth0"};
      ok = ok && podns::pod::plugin_add(env, req) && podns::pod::plugin_del(env, req.key);
      auto t2 = now();
      exec_us.push_back(us(t1 - t0));
      inproc_us.push_back(us(t2 - t1));
    }
    if (!ok) state.SkipWithError("an ADD or DEL failed");
    state.counters["exec_ms"] = median_ms(exec_us);
    state.counters["inprocess_ms"] = median_ms(inproc_us);
    podns::state::Store::close_idle();
  }
  if (::setns(home.get(), CLONE_NEWNET) != 0) std::abort();  // never run on in the wrong netns
}
BENCHMARK(BM_PodnsRuntimeExecVsInProcess)->Iterations(20)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
