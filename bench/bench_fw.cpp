// Per-pod firewall cost: publishing one port and withdrawing it again (one add and one remove of a
// map element, two transactions) through podns's libnftnl batch (Firewall::update), through
// libnftables on a context kept open (`add element` / `delete element` text, the parser and cache
// every time), and by exec'ing `nft` (what a runtime that shells out pays), with 0, 1000 and 3000
// elements already in the map. And `sync` (the whole table through libnftables) with 0 and 1000
// forwards.
//
// Needs root. Works on a table of its own, `inet podns_bench<pid>`, deleted at exit.
//
//   build/bench/bench_fw
//   build/bench/bench_fw --benchmark_filter=Nftnl
#include <benchmark/benchmark.h>
#include <nftables/libnftables.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "podns/fw/firewall.hpp"

extern char** environ;

namespace {

using podns::fw::Firewall;
using podns::fw::PortForward;
using podns::fw::Proto;
using podns::fw::Ruleset;

std::string g_table;

Ruleset ruleset_with(int forwards) {
  Ruleset rs;
  rs.networks.push_back({"bench", "podnsbench0", {"10.89.0.0/16", "fd00:89::/64"}, false});
  for (int i = 0; i < forwards; ++i)
    rs.forwards.push_back({Proto::tcp, "", static_cast<std::uint16_t>(10000 + i),
                           "10.89." + std::to_string(i / 250) + "." + std::to_string(2 + i % 250), 80});
  return rs;
}

// The forward a pod publishes and withdraws in every iteration (any local address, IPv4: the
// fwd4_any map the background elements are in).
const PortForward kPod{Proto::tcp, "", 40000, "10.89.200.2", 8080};

std::string element_cmd(const char* verb) {
  return std::string(verb) + " element inet " + g_table + " fwd4_any { tcp . 40000 : 10.89.200.2 . 8080 }";
}

bool prepare(benchmark::State& state, Firewall& fw, int elements) {
  auto s = fw.sync(ruleset_with(elements));
  if (!s) state.SkipWithError(s.error().message().c_str());
  return s.has_value();
}

void BM_PodForward_Nftnl(benchmark::State& state) {
  auto fw = Firewall::open(g_table);
  if (!fw) return state.SkipWithError(fw.error().message().c_str());
  if (!prepare(state, *fw, static_cast<int>(state.range(0)))) return;
  std::vector<PortForward> one{kPod};
  for (auto _ : state) {
    if (auto r = fw->update(one, {}); !r) return state.SkipWithError(r.error().message().c_str());
    if (auto r = fw->update({}, one); !r) return state.SkipWithError(r.error().message().c_str());
  }
  state.SetLabel("update(add) + update(remove)");
}
BENCHMARK(BM_PodForward_Nftnl)->Arg(0)->Arg(1000)->Arg(3000)->UseRealTime()->Unit(benchmark::kMicrosecond);

// Includes Firewall::open per pod (a new socket), as a short-lived CLI process pays it.
void BM_PodForward_NftnlOpenPerPod(benchmark::State& state) {
  {
    auto fw = Firewall::open(g_table);
    if (!fw) return state.SkipWithError(fw.error().message().c_str());
    if (!prepare(state, *fw, static_cast<int>(state.range(0)))) return;
  }
  std::vector<PortForward> one{kPod};
  for (auto _ : state) {
    auto fw = Firewall::open(g_table);
    if (!fw) return state.SkipWithError(fw.error().message().c_str());
    if (auto r = fw->update(one, {}); !r) return state.SkipWithError(r.error().message().c_str());
    auto fw2 = Firewall::open(g_table);
    if (!fw2) return state.SkipWithError(fw2.error().message().c_str());
    if (auto r = fw2->update({}, one); !r) return state.SkipWithError(r.error().message().c_str());
  }
  state.SetLabel("open+update(add), open+update(remove)");
}
BENCHMARK(BM_PodForward_NftnlOpenPerPod)->Arg(0)->Arg(3000)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_PodForward_Libnftables(benchmark::State& state) {
  auto fw = Firewall::open(g_table);
  if (!fw) return state.SkipWithError(fw.error().message().c_str());
  if (!prepare(state, *fw, static_cast<int>(state.range(0)))) return;
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  nft_ctx_buffer_output(ctx);
  nft_ctx_buffer_error(ctx);
  std::string add = element_cmd("add"), del = element_cmd("delete");
  for (auto _ : state) {
    if (nft_run_cmd_from_buffer(ctx, add.c_str()) != 0 || nft_run_cmd_from_buffer(ctx, del.c_str()) != 0) {
      state.SkipWithError(nft_ctx_get_error_buffer(ctx));
      break;
    }
  }
  nft_ctx_free(ctx);
  state.SetLabel("kept nft_ctx: add element + delete element");
}
BENCHMARK(BM_PodForward_Libnftables)->Arg(0)->Arg(1000)->Arg(3000)->UseRealTime()->Unit(benchmark::kMicrosecond);

int run_nft(const std::string& cmd) {
  std::vector<std::string> argv{"nft", cmd};
  std::vector<char*> cargv{argv[0].data(), argv[1].data(), nullptr};
  pid_t pid;
  if (posix_spawnp(&pid, "nft", nullptr, nullptr, cargv.data(), environ) != 0) return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void BM_PodForward_NftExec(benchmark::State& state) {
  auto fw = Firewall::open(g_table);
  if (!fw) return state.SkipWithError(fw.error().message().c_str());
  if (!prepare(state, *fw, static_cast<int>(state.range(0)))) return;
  std::string add = element_cmd("add"), del = element_cmd("delete");
  for (auto _ : state) {
    if (run_nft(add) != 0 || run_nft(del) != 0) return state.SkipWithError("nft failed");
  }
  state.SetLabel("exec nft add element + exec nft delete element");
}
BENCHMARK(BM_PodForward_NftExec)->Arg(0)->Arg(1000)->Arg(3000)->UseRealTime()->Unit(benchmark::kMillisecond);

// The whole table, rules and N elements, replaced in one libnftables transaction.
void BM_Sync(benchmark::State& state) {
  auto fw = Firewall::open(g_table);
  if (!fw) return state.SkipWithError(fw.error().message().c_str());
  Ruleset rs = ruleset_with(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    if (auto r = fw->sync(rs); !r) return state.SkipWithError(r.error().message().c_str());
  }
}
BENCHMARK(BM_Sync)->Arg(0)->Arg(1000)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (::geteuid() != 0) {
    std::fprintf(stderr, "bench_fw: needs root (nf_tables); skipped\n");
    return 0;
  }
  g_table = "podns_bench" + std::to_string(::getpid());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  // Gone whatever the benchmarks did: an empty ruleset deletes the table.
  if (auto fw = Firewall::open(g_table); fw && !fw->sync(Ruleset{})) std::fprintf(stderr, "bench_fw: cleanup failed\n");
  return 0;
}
