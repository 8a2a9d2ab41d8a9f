// Pod sandbox costs.
//
// CreateRm: `pod create` + `pod rm` on a CNI conflist (bridge + host-local + portmap + firewall +
// tuning: the chain podns's default network used to be, written by ensure_default_network under
// the name `benchcni`) through the podns library, against the same chain driven directly (pin
// net+ipc+uts, Runtime::add, Runtime::del, unpin): what podns adds is the state (SQLite intents
// and commits), the locks, recovery checks and bringing up lo. A third side creates and removes
// the same pod on the native default network, the in-process data plane that replaced the chain.
// The three run interleaved in one loop so that drift hits all alike; counters report the mean of
// each per pod, podns's overhead over the direct chain (the target: at most 1 ms per pod) and
// how many times the native pod is faster than the CNI one.
//
// Ls / Inspect: `pod ls` and `pod inspect` with 1000 pods in the state, through the library and
// through the CLI binary (a fresh process per call, as a user runs it). Target: at most 20 ms.
// The rows are what a real pod on the default network stores: the real default conflist (~1 KB),
// runtimeConfig with a port, a bridge plugin's full ADD result, three pins. Schema 2 keeps a
// summary of each result in columns of their own, so ls reads no stored JSON; inspect reads one
// pod's rows by primary key and adds the live state (here: the netns pins do not exist, so it says
// "gone" after one statfs, as for a pod whose netns was deleted).
//
// Needs root for CreateRm. Everything lives below a private temp dir, on bridges of its own
// (pbench0, 172.30.250.0/24 for the CNI chain; pbench2, 172.30.252.0/24 for the native network);
// the bridges are removed at exit.
//
//   build/bench/bench_pod
//   build/bench/bench_pod --benchmark_filter=CreateRm
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "bench_dir.hpp"
#include "podns/cni/config.hpp"
#include "podns/cni/runtime.hpp"
#include "podns/pin.hpp"
#include "podns/pod/default_network.hpp"
#include "podns/pod/networks.hpp"
#include "podns/pod/pod.hpp"
#include "podns/state/store.hpp"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

struct World {
  podns::bench::BenchDir dir;
  podns::pod::PodEnv env;
  std::vector<std::string> bridges;  // removed at the end
  World(const char* bridge, const char* subnet) {
    env = podns::pod::PodEnv::from_paths(podns::Paths::under(dir.path + "/run", dir.path + "/state"));
    env.cni_conf_dir = dir.path + "/net.d";
    env.nft_table = "podns_bench_pod";  // never the host's own podns table
    env.default_network.bridge = bridge;
    env.default_network.subnet = subnet;
  }
  ~World() {
    // Pods a failed iteration left, then the bridges; BenchDir detaches the pin dirs and removes
    // the rest.
    if (auto pods = podns::pod::list(env))
      for (const auto& p : *pods) (void)podns::pod::remove(env, p.name, {.force = true});
    if (auto nets = podns::pod::network_list(env))
      for (const auto& n : *nets)
        if (n.driver != "cni") (void)podns::pod::network_remove(env, n.name, true);
    for (const auto& b : bridges) std::system(fmt::format("ip link del {} 2>/dev/null", b).c_str());
    std::system(fmt::format("nft delete table inet {} 2>/dev/null", env.nft_table).c_str());
  }
};

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

void BM_CreateRm(benchmark::State& state) {
  if (::geteuid() != 0) {
    state.SkipWithError("needs root");
    return;
  }
  World w("pbench2", "172.30.252.0/24");
  w.bridges = {"pbench0", "pbench2"};
  // Both CNI sides use exactly this conflist.
  podns::pod::DefaultNetworkOptions chain{.name = "benchcni", .bridge = "pbench0", .subnet = "172.30.250.0/24",
                                          .data_dir = w.dir.path + "/ipam"};
  auto path = podns::pod::ensure_default_network(w.env.cni_conf_dir, chain);
  auto net = podns::cni::load_network(w.env.cni_conf_dir, chain.name);
  if (!path || !net) {
    state.SkipWithError("benchcni conflist");
    return;
  }
  podns::cni::RuntimeOptions ro;
  ro.plugin_dirs = w.env.plugin_dirs;
  ro.cache_dir = w.env.paths.cni_cache_dir;
  podns::cni::Runtime runtime(ro);
  constexpr std::array types = {podns::NamespaceType::net, podns::NamespaceType::ipc, podns::NamespaceType::uts};
  Clock::duration podns_total{}, direct_total{}, native_total{}, create_total{}, add_total{};
  int n = 0;
  for (auto _ : state) {
    std::string name = fmt::format("b{}", n++);
    auto t0 = Clock::now();
    auto created = podns::pod::create(w.env, {.name = name, .networks = {chain.name}});
    auto tc = Clock::now();
    auto removed = created ? podns::pod::remove(w.env, name) : podns::Status();
    auto t1 = Clock::now();
    if (!created || !removed) {
      state.SkipWithError((created ? removed.error() : created.error()).message().c_str());
      return;
    }
    std::string direct = "d" + name;
    auto pins = podns::create_pinned(w.env.paths, types, direct);
    podns::cni::RuntimeConf rt{"direct-" + direct, podns::pin_path(w.env.paths, podns::NamespaceType::net, direct),
                               "eth0", {}, {}};
    auto added = pins ? runtime.add(*net, rt) : podns::Result<podns::cni::CniResult>(std::unexpected(pins.error()));
    auto ta = Clock::now();
    auto deleted = runtime.del(*net, rt);
    auto unpinned = podns::remove_pinned(w.env.paths, direct, types);
    auto t2 = Clock::now();
    if (!added || !deleted || !unpinned) {
      state.SkipWithError("direct CNI chain failed");
      return;
    }
    std::string native = "n" + name;
    auto native_created = podns::pod::create(w.env, {.name = native});
    auto native_removed = native_created ? podns::pod::remove(w.env, native) : podns::Status();
    auto t3 = Clock::now();
    if (!native_created || !native_removed) {
      state.SkipWithError("native pod failed");
      return;
    }
    podns_total += t1 - t0;
    direct_total += t2 - t1;
    native_total += t3 - t2;
    create_total += tc - t0;
    add_total += ta - t1;
  }
  state.counters["podns_cni_ms"] = ms(podns_total) / n;
  state.counters["direct_cni_ms"] = ms(direct_total) / n;
  state.counters["overhead_ms"] = (ms(podns_total) - ms(direct_total)) / n;
  state.counters["create_ms"] = ms(create_total) / n;
  state.counters["direct_pin_add_ms"] = ms(add_total) / n;
  state.counters["podns_native_ms"] = ms(native_total) / n;
  state.counters["cni_over_native"] = ms(podns_total) / ms(native_total);
}
BENCHMARK(BM_CreateRm)->Iterations(40)->Unit(benchmark::kMillisecond);

// 1000 ready pods with realistic rows: three pins, one attachment with a full CNI result, a port.
struct BigState {
  World w{"pbench1", "172.30.251.0/24"};
  bool ok = false;
  BigState() {
    auto store = podns::state::Store::open(w.env.paths.db_path());
    if (!store) return;
    auto conflist = podns::pod::default_network_conflist(w.env.default_network);
    if (!conflist) return;
    std::string config = conflist->dump();
    auto s = store->transaction([&]() -> podns::Status {
      for (int i = 0; i < 1000; ++i) {
        std::string name = fmt::format("pod{:04}", i);
        std::string netns = w.env.paths.netns_dir + "/" + name;
        if (auto r = store->insert_pod({name, podns::state::PodPhase::ready, R"({"name":")" + name + R"(","networks":["podns"]})", netns, "", 0},
                                       {{name, "", 10000 + i, 80, "tcp"}});
            !r)
          return r;
        for (const char* t : {"net", "ipc", "uts"}) {
          if (auto r = store->record_pin_intent(name, t, netns); !r) return r;
          if (auto r = store->commit_pin(name, t); !r) return r;
        }
        std::string ip = fmt::format("10.89.{}.{}", i / 250, i % 250 + 2);
        std::string result = fmt::format(
            R"({{"cniVersion":"1.0.0","interfaces":[{{"name":"podns0","mac":"0a:58:0a:59:00:01"}},{{"name":"veth{0}","mac":"0a:58:0a:59:00:02"}},{{"name":"eth0","mac":"0a:58:0a:59:00:03","sandbox":"{1}"}}],"ips":[{{"address":"{2}/16","gateway":"10.89.0.1","interface":2}}],"routes":[{{"dst":"0.0.0.0/0"}}],"dns":{{}}}})",
            i, netns, ip);
        std::string rt = fmt::format(R"({{"portMappings":[{{"hostPort":{},"containerPort":80,"protocol":"tcp"}}]}})",
                                     10000 + i);
        if (auto r = store->record_attachment_intent({name, 0, "podns", "eth0", "podns-" + name, netns, config, rt, "",
                                                      podns::state::RowState::intent});
            !r)
          return r;
        if (auto r = store->commit_attachment(name, 0, result); !r) return r;
      }
      return {};
    });
    ok = static_cast<bool>(s);
  }
};

BigState& big() {
  static BigState s;
  return s;
}

void BM_Ls1000(benchmark::State& state) {
  auto& b = big();
  if (!b.ok) return state.SkipWithError("setup");
  for (auto _ : state) {
    auto pods = podns::pod::list(b.w.env);
    if (!pods || pods->size() != 1000) return state.SkipWithError("ls");
    benchmark::DoNotOptimize(podns::pod::to_json(pods->back()));
  }
}
BENCHMARK(BM_Ls1000)->Unit(benchmark::kMillisecond)->UseRealTime();

// The store's part of ls alone: one read snapshot of every pod's summary rows.
void BM_StoreSummaries1000(benchmark::State& state) {
  auto& b = big();
  if (!b.ok) return state.SkipWithError("setup");
  for (auto _ : state) {
    auto store = podns::state::Store::open(b.w.env.paths.db_path());
    if (!store) return state.SkipWithError("open");
    auto all = store->load_all_summaries();
    if (!all || all->size() != 1000) return state.SkipWithError("load");
    benchmark::DoNotOptimize(all->back().attachments.size());
  }
}
BENCHMARK(BM_StoreSummaries1000)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Inspect1000(benchmark::State& state) {
  auto& b = big();
  if (!b.ok) return state.SkipWithError("setup");
  for (auto _ : state) {
    auto info = podns::pod::inspect(b.w.env, "pod0500");
    if (!info) return state.SkipWithError("inspect");
    benchmark::DoNotOptimize(podns::pod::to_json(*info).dump());
  }
}
BENCHMARK(BM_Inspect1000)->Unit(benchmark::kMillisecond)->UseRealTime();

// The CLI as a user runs it: a fresh process, stdout to /dev/null.
void run_cli(benchmark::State& state, std::vector<std::string> args) {
  auto& b = big();
  if (!b.ok) return state.SkipWithError("setup");
  std::vector<std::string> all{PODNS_CLI_PATH, "--run-dir", b.w.env.paths.run_dir, "--state-dir", b.w.env.paths.state_dir};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  for (auto _ : state) {
    pid_t pid;
    if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) return state.SkipWithError("spawn");
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return state.SkipWithError("podns failed");
  }
  posix_spawn_file_actions_destroy(&fa);
}

void BM_CliLs1000(benchmark::State& state) { run_cli(state, {"pod", "ls", "--json"}); }
BENCHMARK(BM_CliLs1000)->Unit(benchmark::kMillisecond)->UseRealTime();
void BM_CliLsText1000(benchmark::State& state) { run_cli(state, {"pod", "ls"}); }
BENCHMARK(BM_CliLsText1000)->Unit(benchmark::kMillisecond)->UseRealTime();
void BM_CliInspect1000(benchmark::State& state) { run_cli(state, {"pod", "inspect", "pod0500", "--json"}); }
BENCHMARK(BM_CliInspect1000)->Unit(benchmark::kMillisecond)->UseRealTime();
void BM_CliInspectText1000(benchmark::State& state) { run_cli(state, {"pod", "inspect", "pod0500"}); }
BENCHMARK(BM_CliInspectText1000)->Unit(benchmark::kMillisecond)->UseRealTime();
// The floor: the same binary doing nothing but parse its arguments (`podns --version`).
void BM_CliStartup(benchmark::State& state) { run_cli(state, {"--version"}); }
BENCHMARK(BM_CliStartup)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
