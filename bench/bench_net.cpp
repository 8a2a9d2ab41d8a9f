// Pod stats cost: an rtnetlink dump through a socket opened once inside the pod's netns, against
// opening it per query, against running `ip -s -j link` in the netns as a process (what a runtime
// that shells out to iproute2 pays), for one pod and for 100 pods.
//
// Pod network cost: one pod's netns + veth + address + link up + default route, created and torn
// down, by hand at the kernel floor (raw_pod_net.hpp) against the same through podns's net::Client.
//
// Needs root. Setup creates 100 network namespaces pinned on files in a private temp dir (never
// /run/netns), each with a veth pair that is up (eth0 <-> peer0, as a CNI bridge pod has one end
// in the pod); all of it is unpinned and removed at exit, also when a benchmark fails. The pod
// network benchmarks add a bridge "pnbench0" to the host netns (no address: nothing is routed)
// with the pods' host ends "pnbv*" on it; it is deleted at exit once the kernel has destroyed them.
//
//   build/bench_net                       # all
//   build/bench_net --benchmark_filter=1Pod
//   build/bench_net --benchmark_filter=PodNetwork
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_dir.hpp"
#include "podns/net/client.hpp"
#include "podns/net/stats.hpp"
#include "podns/state/store.hpp"
#include "raw_pod_net.hpp"

namespace {

constexpr int kPods = 100;

// The namespaces the benchmarks read, pinned below one temp dir.
struct PodNamespaces {
  podns::bench::BenchDir temp;
  std::string dir = temp.path;
  std::vector<std::string> paths;
  bool ok = false;

  PodNamespaces() {
    if (dir.empty()) return;
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

// --- one pod's network: setup + teardown ---

constexpr const char* kBenchBridge = "pnbench0";
constexpr const char* kPodLinkPrefix = "pnbv";
// Every pod gets the same address: each is alone in its netns.
const rawnet::PodAddress kPodAddress{{htonl(0x0ad50002)}, 16, {htonl(0x0ad50001)}};  // 10.213.0.2/16 via .0.1

rawnet::Host* bench_host = nullptr;  // the bridge, made by the first pod network benchmark

rawnet::Host* bridge_for(benchmark::State& state) {
  static rawnet::Host host;
  if (!bench_host) {
    if (int err = rawnet::setup_bridge(host, kBenchBridge); err < 0) {
      state.SkipWithError(("create bridge pnbench0: " + std::string(std::strerror(-err))).c_str());
      rawnet::teardown_bridge(host);
      return nullptr;
    }
    bench_host = &host;
  }
  return bench_host;
}

// A host-end name never used before in this process: the veth of a pod torn down a moment ago
// may still exist (the kernel destroys it with its netns, asynchronously).
std::string next_pod_link() {
  static unsigned n = 0;
  return kPodLinkPrefix + std::to_string(n++);
}

// After the timed loop: let the kernel destroy what the iterations left (the bridge takes at most
// 1024 ports, and the next benchmark should not pay for this one's backlog).
void drain(benchmark::State& state) {
  auto start = std::chrono::steady_clock::now();
  if (!rawnet::wait_links_gone(kPodLinkPrefix, std::chrono::seconds(60)))
    state.SkipWithError("pods' veths still there after 60 s");
  state.counters["drain_ms"] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// The part of the floor that is no networking at all: a netns made and dropped, with a netlink
// socket in it, the thread back home (rawnet::enter_new_netns).
void BM_RawNetnsOnly(benchmark::State& state) {
  rawnet::Host* host = bridge_for(state);
  if (!host) return;
  for (auto _ : state) {
    int netns = -1;
    int sock = -1;
    if (int err = rawnet::enter_new_netns(*host, netns, sock); err < 0)
      return state.SkipWithError(("new netns: " + std::string(std::strerror(-err))).c_str());
    ::close(sock);
    ::close(netns);
  }
}
BENCHMARK(BM_RawNetnsOnly)->UseRealTime()->Unit(benchmark::kMicrosecond)->Iterations(400);

void BM_RawPodNetwork(benchmark::State& state) {
  rawnet::Host* host = bridge_for(state);
  if (!host) return;
  for (auto _ : state) {
    rawnet::Pod pod;
    std::string name = next_pod_link();
    if (int err = rawnet::create_pod_network(*host, name.c_str(), kPodAddress, pod); err < 0)
      return state.SkipWithError(("raw pod network: " + std::string(std::strerror(-err))).c_str());
    rawnet::destroy_pod_network(pod);
  }
  drain(state);
}
BENCHMARK(BM_RawPodNetwork)->UseRealTime()->Unit(benchmark::kMicrosecond)->Iterations(400);

// The same through podns's net::Client: the netns made the same way, a client opened in it while
// the thread is there (open_netlink_client, no thread of its own), then create_veth, add_address,
// set_link, add_route. Options: arp_notify (one more request: see set_link), and looking eth0's
// ifindex up by name instead of knowing it is 2. Returns with the pod's netns fd and client
// closed: the kernel takes it from there, as in rawnet::destroy_pod_network.
struct ClientOptions {
  bool arp_notify = false;
  bool lookup = false;
};

podns::Status client_pod_network(podns::net::Client& host_client, const rawnet::Host& host, ClientOptions opt) {
  if (::unshare(CLONE_NEWNET) < 0) return podns::fail_errno("unshare(CLONE_NEWNET)");
  podns::UniqueFd netns(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  int open_errno = errno;
  auto pod_client = podns::net::open_netlink_client();
  if (::setns(host.netns, CLONE_NEWNET) < 0) std::abort();
  if (!netns) return podns::fail_errno(open_errno, "open the pod netns");
  if (!pod_client) return podns::fail(pod_client.error());

  podns::net::VethRequest veth;
  veth.host_name = next_pod_link();
  veth.peer_name = "eth0";
  veth.peer_netns = netns.view();
  veth.master = host.bridge;
  if (auto r = host_client.create_veth(veth); !r) return podns::fail(r.error());
  podns::net::Client& pod = **pod_client;
  int eth0 = rawnet::kPodEth0Index;
  if (opt.lookup) {
    auto link = pod.link("eth0");
    if (!link) return podns::fail(link.error());
    eth0 = link->index;
  }
  if (auto r = pod.add_address({.index = eth0, .address = "10.213.0.2", .prefix_len = 16}); !r) return r;
  if (auto r = pod.set_link({.index = eth0, .up = true, .arp_notify = opt.arp_notify}); !r) return r;
  return pod.add_route({.gateway = "10.213.0.1", .oif = eth0});
}

void BM_ClientPodNetwork(benchmark::State& state) {
  const ClientOptions opt{.arp_notify = state.range(0) != 0, .lookup = state.range(1) != 0};
  rawnet::Host* host = bridge_for(state);
  if (!host) return;
  auto host_client = podns::net::open_netlink_client();
  if (!host_client) return state.SkipWithError(host_client.error().message().c_str());
  for (auto _ : state) {
    if (auto st = client_pod_network(**host_client, *host, opt); !st)
      return state.SkipWithError(st.error().message().c_str());
  }
  drain(state);
}
BENCHMARK(BM_ClientPodNetwork)
    ->ArgNames({"arp_notify", "lookup"})
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({1, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond)
    ->Iterations(400);

// Raw and Client (same steps, no arp_notify, no lookup) alternating pod by pod, each timed on its
// own: on a busy machine, and with the kernel destroying earlier pods under RTNL meanwhile, both
// meet the same conditions. Counters: mean microseconds per pod of each, and client/raw.
void BM_PodNetworkRawVsClient(benchmark::State& state) {
  rawnet::Host* host = bridge_for(state);
  if (!host) return;
  auto host_client = podns::net::open_netlink_client();
  if (!host_client) return state.SkipWithError(host_client.error().message().c_str());
  using Clock = std::chrono::steady_clock;
  Clock::duration raw{}, client{};
  auto run_raw = [&]() -> bool {
    auto t0 = Clock::now();
    rawnet::Pod pod;
    std::string name = next_pod_link();
    if (int err = rawnet::create_pod_network(*host, name.c_str(), kPodAddress, pod); err < 0) {
      state.SkipWithError(("raw pod network: " + std::string(std::strerror(-err))).c_str());
      return false;
    }
    rawnet::destroy_pod_network(pod);
    raw += Clock::now() - t0;
    return true;
  };
  auto run_client = [&]() -> bool {
    auto t0 = Clock::now();
    if (auto st = client_pod_network(**host_client, *host, {}); !st) {
      state.SkipWithError(st.error().message().c_str());
      return false;
    }
    client += Clock::now() - t0;
    return true;
  };
  bool raw_first = true;  // alternate, so neither always follows the other's teardown
  for (auto _ : state) {
    if (!(raw_first ? run_raw() && run_client() : run_client() && run_raw())) return;
    raw_first = !raw_first;
  }
  double n = static_cast<double>(state.iterations());
  double raw_us = std::chrono::duration<double, std::micro>(raw).count() / n;
  double client_us = std::chrono::duration<double, std::micro>(client).count() / n;
  state.counters["raw_us"] = raw_us;
  state.counters["client_us"] = client_us;
  state.counters["client/raw"] = client_us / raw_us;
  drain(state);
}
BENCHMARK(BM_PodNetworkRawVsClient)->UseRealTime()->Unit(benchmark::kMicrosecond)->Iterations(300);

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
  if (bench_host) {  // the pod network benchmarks ran: their bridge goes once its ports are gone
    if (!rawnet::wait_links_gone(kPodLinkPrefix, std::chrono::seconds(60)))
      std::fprintf(stderr, "bench_net: pods' veths (%s*) still there after 60 s\n", kPodLinkPrefix);
    if (int err = rawnet::teardown_bridge(*bench_host); err < 0)
      std::fprintf(stderr, "bench_net: delete bridge %s: %s\n", kBenchBridge, std::strerror(-err));
  }
  return 0;
}
