// Pod stats cost: an rtnetlink dump through a socket opened once inside the pod's netns, against
// opening it per query, against running `ip -s -j link` in the netns as a process (what a runtime
// that shells out to iproute2 pays), for one pod and for 100 pods.
//
// Needs root. Setup creates 100 network namespaces pinned on files in a private temp dir (never
// /run/netns), each with a veth pair that is up (eth0 <-> peer0, as a CNI bridge pod has one end
// in the pod); all of it is unpinned and removed at exit, also when a benchmark fails.
//
//   build/bench_net                       # all
//   build/bench_net --benchmark_filter=1Pod
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "podns/net/client.hpp"
#include "podns/net/stats.hpp"
#include "podns/state/store.hpp"

namespace {

constexpr int kPods = 100;

// The namespaces the benchmarks read, pinned below one temp dir.
struct PodNamespaces {
  std::string dir;
  std::vector<std::string> paths;
  bool ok = false;

  PodNamespaces() {
    char tmpl[] = "/tmp/podns-bench-net-XXXXXX";
    if (!::mkdtemp(tmpl)) return;
    dir = tmpl;
    for (int i = 0; i < kPods; ++i) {
      std::string path = dir + "/pod" + std::to_string(i);
      paths.push_back(path);
      std::FILE* f = std::fopen(path.c_str(), "w");
      if (f) std::fclose(f);
      // unshare --net=FILE pins the new netns on FILE; the shell builds the pod's links inside it.
      std::string cmd = "unshare --net=" + path +
                        " sh -c 'ip link add eth0 type veth peer name peer0 && ip link set eth0 up && "
                        "ip link set peer0 up && ip link set lo up'";
      if (std::system(cmd.c_str()) != 0) {
        std::fprintf(stderr, "bench_net: setup failed: %s\n", cmd.c_str());
        return;
      }
    }
    // The same 100 namespaces as ready pods in a private state store, for the CLI benchmark.
    auto store = podns::state::Store::open(dir + "/state/podns.db");
    if (!store) return;
    for (int i = 0; i < kPods; ++i) {
      podns::state::PodRecord rec;
      rec.name = "pod" + std::to_string(i);
      rec.spec = "{}";
      if (!store->insert_pod(rec, {}) || !store->set_pod_paths(rec.name, paths[i], "") ||
          !store->set_pod_phase(rec.name, podns::state::PodPhase::ready))
        return;
    }
    ok = true;
  }
  ~PodNamespaces() {
    for (const auto& p : paths) ::umount2(p.c_str(), MNT_DETACH);
    std::error_code ec;
    if (!dir.empty()) std::filesystem::remove_all(dir, ec);
  }
};

PodNamespaces* pods = nullptr;

// `ip -s -j link` run inside the netns (fork, setns, exec, as `ip netns exec` would), its JSON
// read from a pipe and parsed: what using iproute2 for stats costs a runtime.
std::size_t ip_stats_process(const std::string& netns_path) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) < 0) return 0;
  int nsfd = ::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipefd[1], 1);  // dup2 clears CLOEXEC on the new fd: stdout survives exec
    if (::setns(nsfd, CLONE_NEWNET) < 0) ::_exit(126);
    ::execlp("ip", "ip", "-s", "-j", "link", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(pipefd[1]);
  ::close(nsfd);
  std::string out;
  char buf[16384];
  for (ssize_t n; (n = ::read(pipefd[0], buf, sizeof(buf))) > 0;) out.append(buf, static_cast<std::size_t>(n));
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  auto j = nlohmann::json::parse(out, nullptr, false);
  return j.is_array() ? j.size() : 0;
}

void per_pod_counter(benchmark::State& state, int pods_per_iteration) {
  state.counters["per_pod"] = benchmark::Counter(pods_per_iteration, benchmark::Counter::kIsIterationInvariantRate |
                                                                         benchmark::Counter::kInvert);
}

// --- one pod ---

void BM_1Pod_NetlinkOpenOnce(benchmark::State& state) {
  auto client = podns::net::open_netlink_client_in(pods->paths[0]);
  if (!client) return state.SkipWithError(client.error().message().c_str());
  for (auto _ : state) {
    auto s = podns::net::collect_stats(**client);
    if (!s || s->size() != 2) return state.SkipWithError("unexpected stats");
    benchmark::DoNotOptimize(s->data());
  }
  per_pod_counter(state, 1);
}
BENCHMARK(BM_1Pod_NetlinkOpenOnce)->UseRealTime();

void BM_1Pod_NetlinkOpenPerQuery(benchmark::State& state) {
  for (auto _ : state) {
    auto s = podns::net::collect_stats(pods->paths[0]);
    if (!s || s->size() != 2) return state.SkipWithError("unexpected stats");
    benchmark::DoNotOptimize(s->data());
  }
  per_pod_counter(state, 1);
}
BENCHMARK(BM_1Pod_NetlinkOpenPerQuery)->UseRealTime();

void BM_1Pod_IpProcess(benchmark::State& state) {
  for (auto _ : state) {
    if (ip_stats_process(pods->paths[0]) != 3) return state.SkipWithError("ip -s -j link failed");
  }
  per_pod_counter(state, 1);
}
BENCHMARK(BM_1Pod_IpProcess)->UseRealTime()->Unit(benchmark::kMillisecond);

// --- 100 pods: one round of `podns pod stats` over all of them ---

void BM_100Pods_StatsCollector(benchmark::State& state) {
  podns::net::StatsCollector collector;
  for (const auto& p : pods->paths)  // warm: the clients stay open across rounds (--watch)
    if (!collector.collect(p)) return state.SkipWithError("collect failed");
  for (auto _ : state) {
    for (const auto& p : pods->paths) {
      auto s = collector.collect(p);
      if (!s) return state.SkipWithError(s.error().message().c_str());
      benchmark::DoNotOptimize(s->data());
    }
  }
  per_pod_counter(state, kPods);
}
BENCHMARK(BM_100Pods_StatsCollector)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_100Pods_NetlinkOpenPerQuery(benchmark::State& state) {
  for (auto _ : state) {
    for (const auto& p : pods->paths) {
      auto s = podns::net::collect_stats(p);
      if (!s) return state.SkipWithError(s.error().message().c_str());
      benchmark::DoNotOptimize(s->data());
    }
  }
  per_pod_counter(state, kPods);
}
BENCHMARK(BM_100Pods_NetlinkOpenPerQuery)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_100Pods_IpProcess(benchmark::State& state) {
  for (auto _ : state) {
    for (const auto& p : pods->paths)
      if (ip_stats_process(p) != 3) return state.SkipWithError("ip -s -j link failed");
  }
  per_pod_counter(state, kPods);
}
BENCHMARK(BM_100Pods_IpProcess)->UseRealTime()->Unit(benchmark::kMillisecond)->Iterations(3);

// The whole `podns pod stats --json` process over 100 pods: exec, state store, 100 netns opened,
// dumped and printed as JSON. What a user or a monitoring script calling the CLI pays per round.
void BM_100Pods_PodnsCliOneShot(benchmark::State& state) {
  std::string cmd = std::string(PODNS_CLI_PATH) + " --run-dir " + pods->dir + "/run --state-dir " + pods->dir +
                    "/state pod stats --json > /dev/null";
  for (auto _ : state) {
    if (std::system(cmd.c_str()) != 0) return state.SkipWithError("podns pod stats failed");
  }
  per_pod_counter(state, kPods);
}
BENCHMARK(BM_100Pods_PodnsCliOneShot)->UseRealTime()->Unit(benchmark::kMillisecond)->Iterations(10);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (::geteuid() != 0) {
    std::fprintf(stderr, "bench_net: needs root (creates %d network namespaces); skipped\n", kPods);
    return 0;
  }
  PodNamespaces ns;  // removed when main returns
  if (!ns.ok) return 1;
  pods = &ns;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
