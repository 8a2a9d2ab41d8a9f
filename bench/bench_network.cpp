// Native pod networking against the kernel floor and against the CNI chain, side by side.
//
// CreateRm: one pod with one published port on a native network, `pod::create` then `pod::remove`
// through the library; in the same loop the kernel floor (raw_pod_net.hpp: a netns, ONE
// RTM_NEWLINK veth into it on the bridge, address + up + default route, close the netns: no
// state, no locks, no ipc/uts, no nftables), and every 10th iteration the same pod on a CNI
// conflist (bridge + host-local + portmap, exec'd as podns always did). Counters: milliseconds per
// pod of each and the ratios. podns's pod also pins net+ipc+uts, writes its intents to SQLite,
// takes two file locks, adds a map element and brings up lo: the ratio to the floor is what all
// of that costs. A second floor, rawnet::PinnedPod, holds the same kernel objects as a podns pod
// (net, ipc and uts pinned by bind mounts and unpinned again: each umount waits for an RCU grace
// period) without podns's state, locks or firewall: the ratio to it is podns's own cost.
//
// Thousand: 1000 pods with a published port each on one network: the first 20 and the last 20
// creates (flat or not), `pod ls`, `pod stats` of every pod (the host-side dump against one
// socket per netns, the old way), the nftables rule count at 1 and at 1000 pods, rm of all.
//
// CliCreateRm: `podns pod create` and `podns pod rm` as processes (posix_spawn), the library figure
// plus process start-up.
//
// Needs root. Private dirs, bridges pbn0/pbn1/pbnc0, table podns_bench: all removed at exit.
//   build/bench/bench_network
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "bench_dir.hpp"
#include "podns/net/stats.hpp"
#include "podns/pod/networks.hpp"
#include "podns/pod/pod.hpp"
#include "podns/pod/stats.hpp"
#include "podns/state/store.hpp"
#include "raw_pod_net.hpp"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

int sh(const std::string& cmd) { return std::system(cmd.c_str()); }

struct World {
  podns::bench::BenchDir dir;
  podns::pod::PodEnv env;
  std::vector<std::string> bridges;
  // What portmap makes once per host, and whether each was there before this run: only what the
  // run made is removed at exit.
  bool had_ip_nat = sh("nft list table ip nat >/dev/null 2>&1") == 0;
  bool had_ip6_nat = sh("nft list table ip6 nat >/dev/null 2>&1") == 0;
  bool had_cni_chains = sh("iptables-save -t nat 2>/dev/null | grep -q CNI-HOSTPORT-DNAT") == 0 || had_ip_nat;
  World() {
    // The runtime dir (pins, lock files) on a tmpfs, as /run is on a host booted by systemd (this
    // VM's /run is ext4): every pod creates and unlinks pin and lock files there, and ext4's search
    // for a free inode that was not recently deleted grows with each create (a fifth of the time at
    // 1000 pods). The state database stays on disk, where /var/lib is.
    std::filesystem::create_directories(dir.path + "/run");
    ::mount("tmpfs", (dir.path + "/run").c_str(), "tmpfs", 0, "mode=0755");
    env = podns::pod::PodEnv::from_paths(podns::Paths::under(dir.path + "/run", dir.path + "/state"));
    env.cni_conf_dir = dir.path + "/net.d";
    env.nft_table = "podns_bench";
  }
  ~World() {
    if (auto pods = podns::pod::list(env))
      for (const auto& p : *pods) (void)podns::pod::remove(env, p.name, {.force = true});
    if (auto nets = podns::pod::network_list(env))
      for (const auto& n : *nets)
        if (n.driver != "cni") (void)podns::pod::network_remove(env, n.name, true);
    for (const auto& b : bridges) sh("ip link del " + b + " 2>/dev/null");
    sh("nft delete table inet podns_bench 2>/dev/null");
    // portmap's once-per-host chains, when this run made them.
    if (!had_cni_chains)
      sh("for c in CNI-HOSTPORT-SETMARK CNI-HOSTPORT-MASQ CNI-HOSTPORT-DNAT; do for b in PREROUTING OUTPUT POSTROUTING; do "
         "while iptables -w -t nat -D $b -m addrtype --dst-type LOCAL -j $c 2>/dev/null; do :; done; "
         "while iptables -w -t nat -D $b -m comment --comment 'CNI portfwd requiring masquerade' -j $c 2>/dev/null; do :; done; "
         "done; iptables -w -t nat -F $c 2>/dev/null; iptables -w -t nat -X $c 2>/dev/null; done");
    // The nat tables iptables-nft made for them, once empty. portmap makes the IPv6 one too, with
    // no IPv6 pod: it was left behind, empty, when the IPv4 one was there before.
    for (const auto& [had, table] : {std::pair{had_ip_nat, "ip nat"}, std::pair{had_ip6_nat, "ip6 nat"}})
      if (!had)
        sh(fmt::format("nft list table {0} 2>/dev/null | grep -qE '^\\s+(ip|ip6|meta|counter|jump|masquerade)' "
                       "|| nft delete table {0} 2>/dev/null",
                       table));
  }
  podns::Status native(const std::string& name, const std::string& subnet, const std::string& bridge) {
    bridges.push_back(bridge);
    auto n = podns::pod::network_create(env, {.name = name, .subnets = {{subnet, "", ""}}, .bridge = bridge});
    if (!n) return std::unexpected(n.error());
    return {};
  }
  void cni(const std::string& name, const std::string& subnet, const std::string& bridge) {
    bridges.push_back(bridge);
    std::filesystem::create_directories(env.cni_conf_dir);
    std::ofstream(env.cni_conf_dir + "/" + name + ".conflist") << fmt::format(
        R"({{"cniVersion":"1.0.0","name":"{}","plugins":[{{"type":"bridge","bridge":"{}","isGateway":true,"ipMasq":true,
"ipam":{{"type":"host-local","ranges":[[{{"subnet":"{}"}}]],"routes":[{{"dst":"0.0.0.0/0"}}],"dataDir":"{}/leases"}}}},
{{"type":"portmap","capabilities":{{"portMappings":true}}}}]}})",
        name, bridge, subnet, dir.path);
  }
};

podns::pod::CreateOptions pod_on(const std::string& name, const std::string& net, int host_port) {
  podns::pod::CreateOptions o;
  o.name = name;
  o.networks = {net};
  o.ports = {{"", host_port, 80, "tcp"}};
  return o;
}

// A shared tmpfs for rawnet::PinnedPod's pins, as /run is (removed with the BenchDir).
bool pin_dir(const std::string& path) {
  std::filesystem::create_directories(path);
  return ::mount("tmpfs", path.c_str(), "tmpfs", 0, "mode=0755") == 0 &&
         ::mount(nullptr, path.c_str(), nullptr, MS_SHARED, nullptr) == 0;
}

void BM_CreateRm(benchmark::State& state) {
  if (::geteuid() != 0) return state.SkipWithError("needs root");
  World w;
  if (auto s = w.native("bn", "10.230.0.0/16", "pbn0"); !s) return state.SkipWithError(s.error().message().c_str());
  w.cni("bc", "172.30.252.0/24", "pbnc0");
  rawnet::Host host;
  if (rawnet::setup_bridge(host, "pbn1") < 0) return state.SkipWithError("raw bridge");
  w.bridges.push_back("pbn1");
  if (!pin_dir(w.dir.path + "/pins")) return state.SkipWithError("pin dir");
  Clock::duration create{}, rm{}, raw{}, raw_pinned{}, cni_create{}, cni_rm{};
  int n = 0, c = 0;
  for (auto _ : state) {
    std::string name = fmt::format("p{}", n);
    auto t0 = Clock::now();
    auto made = podns::pod::create(w.env, pod_on(name, "bn", 30000 + n % 1000));
    auto t1 = Clock::now();
    auto gone = made ? podns::pod::remove(w.env, name) : podns::Status();
    auto t2 = Clock::now();
    if (!made || !gone) return state.SkipWithError((made ? gone.error() : made.error()).message().c_str());
    rawnet::Pod pod;
    rawnet::PodAddress a{};
    inet_pton(AF_INET, "10.231.0.2", &a.addr);
    inet_pton(AF_INET, "10.231.0.1", &a.gateway);
    a.prefix_len = 16;
    auto t3 = Clock::now();
    if (rawnet::create_pod_network(host, fmt::format("rv{}", n).c_str(), a, pod) < 0) return state.SkipWithError("raw");
    rawnet::destroy_pod_network(pod);
    auto t4 = Clock::now();
    rawnet::PinnedPod pinned;
    if (rawnet::create_pinned_pod(host, fmt::format("rp{}", n).c_str(), a, w.dir.path + "/pins", std::to_string(n), pinned) < 0)
      return state.SkipWithError("raw pinned");
    rawnet::destroy_pinned_pod(pinned);
    auto t5 = Clock::now();
    create += t1 - t0;
    rm += t2 - t1;
    raw += t4 - t3;
    raw_pinned += t5 - t4;
    if (n % 10 == 0) {
      std::string cname = fmt::format("c{}", n);
      auto c0 = Clock::now();
      auto cm = podns::pod::create(w.env, pod_on(cname, "bc", 40000 + n % 1000));
      auto c1 = Clock::now();
      auto cg = cm ? podns::pod::remove(w.env, cname) : podns::Status();
      auto c2 = Clock::now();
      if (!cm || !cg) return state.SkipWithError((cm ? cg.error() : cm.error()).message().c_str());
      cni_create += c1 - c0;
      cni_rm += c2 - c1;
      ++c;
    }
    ++n;
  }
  rawnet::wait_links_gone("rv", std::chrono::seconds(10));
  rawnet::wait_links_gone("rp", std::chrono::seconds(10));
  rawnet::teardown_bridge(host);
  state.counters["native_create_ms"] = ms(create) / n;
  state.counters["native_rm_ms"] = ms(rm) / n;
  state.counters["native_ms"] = ms(create + rm) / n;
  state.counters["raw_floor_ms"] = ms(raw) / n;
  state.counters["x_floor"] = ms(create + rm) / ms(raw);
  state.counters["raw_pinned_floor_ms"] = ms(raw_pinned) / n;
  state.counters["x_pinned_floor"] = ms(create + rm) / ms(raw_pinned);
  state.counters["cni_create_ms"] = ms(cni_create) / c;
  state.counters["cni_rm_ms"] = ms(cni_rm) / c;
  state.counters["cni_over_native_create"] = (ms(cni_create) / c) / (ms(create) / n);
  state.counters["cni_over_native_rm"] = (ms(cni_rm) / c) / (ms(rm) / n);
}
BENCHMARK(BM_CreateRm)->Iterations(200)->Unit(benchmark::kMillisecond);

// The native path alone (no CNI exec in the same process: a clean profile, `perf record` it).
void BM_NativeCreateRm(benchmark::State& state) {
  if (::geteuid() != 0) return state.SkipWithError("needs root");
  World w;
  if (auto s = w.native("bn", "10.234.0.0/16", "pbn0"); !s) return state.SkipWithError(s.error().message().c_str());
  int n = 0;
  for (auto _ : state) {
    std::string name = fmt::format("p{}", n);
    auto made = podns::pod::create(w.env, pod_on(name, "bn", 30000 + n % 1000));
    auto gone = made ? podns::pod::remove(w.env, name) : podns::Status();
    if (!made || !gone) return state.SkipWithError((made ? gone.error() : made.error()).message().c_str());
    ++n;
  }
}
BENCHMARK(BM_NativeCreateRm)->Iterations(300)->Unit(benchmark::kMillisecond)->UseRealTime();

int nft_rules(const std::string& table) {
  FILE* p = ::popen(("nft -a list table inet " + table + " 2>/dev/null | grep -c '# handle'").c_str(), "r");
  int n = 0;
  if (p) {
    if (std::fscanf(p, "%d", &n) != 1) n = -1;
    ::pclose(p);
  }
  return n;
}

void BM_Thousand(benchmark::State& state) {
  if (::geteuid() != 0) return state.SkipWithError("needs root");
  constexpr int kPods = 1000;
  for (auto _ : state) {
    World w;
    if (auto s = w.native("big", "10.232.0.0/16", "pbn0"); !s) return state.SkipWithError(s.error().message().c_str());
    std::vector<double> each;
    int rules_first = 0;
    auto t0 = Clock::now();
    for (int i = 0; i < kPods; ++i) {
      auto a = Clock::now();
      auto made = podns::pod::create(w.env, pod_on(fmt::format("p{:04}", i), "big", 30000 + i));
      if (!made) return state.SkipWithError(made.error().message().c_str());
      each.push_back(ms(Clock::now() - a));
      if (i == 0) rules_first = nft_rules(w.env.nft_table);
    }
    auto t1 = Clock::now();
    int rules_last = nft_rules(w.env.nft_table);
    auto l0 = Clock::now();
    auto pods = podns::pod::list(w.env);
    auto l1 = Clock::now();
    if (!pods || pods->size() != kPods) return state.SkipWithError("ls");
    podns::pod::StatsReader reader(w.env);
    auto s0 = Clock::now();
    auto stats = reader.read();
    auto s1 = Clock::now();
    if (!stats || stats->size() != kPods) return state.SkipWithError("stats");
    // The old way: one socket opened in each pod's netns (kept for the next round, as --watch does).
    podns::net::StatsCollector collector;
    auto o0 = Clock::now();
    for (const auto& p : *pods)
      if (!collector.collect(p.netns_path)) return state.SkipWithError("per-netns stats");
    auto o1 = Clock::now();
    collector.retain_only({});
    auto r0 = Clock::now();
    for (const auto& p : *pods)
      if (!podns::pod::remove(w.env, p.name)) return state.SkipWithError("rm");
    auto r1 = Clock::now();
    double first = 0, last = 0;
    for (int i = 0; i < 20; ++i) first += each[i] / 20, last += each[kPods - 20 + i] / 20;
    state.counters["create_all_s"] = ms(t1 - t0) / 1000;
    state.counters["first20_ms"] = first;
    state.counters["last20_ms"] = last;
    state.counters["last_over_first"] = last / first;
    state.counters["ls_ms"] = ms(l1 - l0);
    state.counters["stats_host_dump_ms"] = ms(s1 - s0);
    state.counters["stats_per_netns_ms"] = ms(o1 - o0);
    state.counters["rm_all_s"] = ms(r1 - r0) / 1000;
    state.counters["nft_rules_at_1"] = rules_first;
    state.counters["nft_rules_at_1000"] = rules_last;
  }
}
BENCHMARK(BM_Thousand)->Iterations(1)->Unit(benchmark::kSecond);

// The kernel floor at 1000 pods: does the kernel itself slow down as pods accumulate (1000 live
// netns, 1000 ports on one bridge)? arg 0: raw_pod_net.hpp's pods alone; arg 1: like a podns pod
// on an IPv4-only network: also pinned (net, ipc and uts unshared, each bind-mounted onto a file
// in a shared tmpfs) and eth0 without an IPv6 link-local address.
void BM_RawThousand(benchmark::State& state) {
  if (::geteuid() != 0) return state.SkipWithError("needs root");
  constexpr int kPods = 1000;
  const bool pinned = state.range(0) == 1;
  for (auto _ : state) {
    podns::bench::BenchDir dir;
    rawnet::Host host;
    if (rawnet::setup_bridge(host, "pbn2") < 0) return state.SkipWithError("raw bridge");
    if (pinned && !pin_dir(dir.path + "/pins")) return state.SkipWithError("pin dir");
    std::vector<rawnet::Pod> pods(kPods);
    std::vector<rawnet::PinnedPod> pinned_pods(kPods);
    std::vector<double> each;
    bool ok = true;
    for (int i = 0; i < kPods && ok; ++i) {
      rawnet::PodAddress a{};
      inet_pton(AF_INET, fmt::format("10.233.{}.{}", 1 + i / 250, 1 + i % 250).c_str(), &a.addr);
      inet_pton(AF_INET, "10.233.0.1", &a.gateway);
      a.prefix_len = 16;
      auto ifname = fmt::format("rw{}", i);
      auto t0 = Clock::now();
      ok = pinned ? rawnet::create_pinned_pod(host, ifname.c_str(), a, dir.path + "/pins", std::to_string(i), pinned_pods[i]) == 0
                  : rawnet::create_pod_network(host, ifname.c_str(), a, pods[i]) == 0;
      each.push_back(ms(Clock::now() - t0));
    }
    for (auto& p : pods) rawnet::destroy_pod_network(p);
    for (auto& p : pinned_pods) rawnet::destroy_pinned_pod(p);
    if (pinned) ::umount2((dir.path + "/pins").c_str(), MNT_DETACH);
    rawnet::teardown_bridge(host);
    rawnet::wait_links_gone("rw", std::chrono::seconds(60));
    if (!ok) return state.SkipWithError("raw pod");
    double first = 0, last = 0;
    for (int i = 0; i < 20; ++i) first += each[i] / 20, last += each[kPods - 20 + i] / 20;
    state.counters["first20_ms"] = first;
    state.counters["last20_ms"] = last;
    state.counters["last_over_first"] = last / first;
  }
}
BENCHMARK(BM_RawThousand)->Arg(0)->Arg(1)->Iterations(1)->Unit(benchmark::kSecond);

int spawn_podns(const World& w, std::vector<std::string> args) {
  std::vector<std::string> all{PODNS_CLI_PATH};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> envs = {"PODNS_RUN_DIR=" + w.env.paths.run_dir, "PODNS_STATE_DIR=" + w.env.paths.state_dir,
                                   "PODNS_NFT_TABLE=" + w.env.nft_table, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  std::vector<char*> envp;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void BM_CliCreateRm(benchmark::State& state) {
  if (::geteuid() != 0) return state.SkipWithError("needs root");
  World w;
  if (auto s = w.native("bn", "10.233.0.0/16", "pbn0"); !s) return state.SkipWithError(s.error().message().c_str());
  // No connection to the database stays open in this process: each podns is the first to open
  // it, as on a host with no daemon, and pays what that costs (SQLite rebuilds its WAL index).
  podns::state::Store::close_idle();
  Clock::duration create{}, rm{};
  int n = 0;
  for (auto _ : state) {
    std::string name = fmt::format("p{}", n);
    auto t0 = Clock::now();
    if (spawn_podns(w, {"pod", "create", name, "--network", "bn", "-p", fmt::format("{}:80", 30000 + n % 1000)}) != 0)
      return state.SkipWithError("podns pod create");
    auto t1 = Clock::now();
    if (spawn_podns(w, {"pod", "rm", name}) != 0) return state.SkipWithError("podns pod rm");
    auto t2 = Clock::now();
    create += t1 - t0;
    rm += t2 - t1;
    ++n;
  }
  state.counters["cli_create_ms"] = ms(create) / n;
  state.counters["cli_rm_ms"] = ms(rm) / n;
}
BENCHMARK(BM_CliCreateRm)->Iterations(100)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
