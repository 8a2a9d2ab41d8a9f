// podns vs the same steps written plainly, side by side in one run:
//   BM_NetnsCreatePinRemove/raw    unshare(CLONE_NEWNET) on this thread + O_EXCL file + bind
//                                  /proc/thread-self/ns/net + setns back; umount + unlink
//   BM_NetnsCreatePinRemove/podns  create_pinned(net) + remove_pinned(net)
//   BM_RunInNetns/raw              setns(target) + setns(home) on fds opened once
//   BM_RunInNetns/podns            run_in_namespace(target, empty callable)
//   BM_CliAddRm/ip                 `ip netns add N` + `ip netns del N` as processes
//   BM_CliAddRm/podns              `podns ns add N` + `podns ns rm N` as processes (same /run/netns)
//   BM_UnpinThree/each             umount2 of a pod's three pins (net, ipc, uts) one by one, as
//                                  podns unpins them: each umount waits for an RCU grace period
//   BM_UnpinThree/one_parent       the same three pins below one tmpfs of the pod's own: one
//                                  umount2 takes all three (would a per-pod mount pay for itself?)
// Run as root (see docs/ns.md):
//   build/bench/bench_ns --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
//     --benchmark_report_aggregates_only=true   (one command line)
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "bench_dir.hpp"
#include "podns/pin.hpp"
#include "podns/run_in_ns.hpp"

extern char** environ;

namespace {

using namespace podns;

using podns::bench::BenchDir;

void BM_NetnsCreatePinRemove_raw(benchmark::State& state) {
  if (::geteuid() != 0) return state.SkipWithError("needs root");
  BenchDir dir;
  Paths paths = Paths::under(dir.path + "/run", dir.path + "/state");
  if (!prepare_pin_dir(paths.netns_dir)) return state.SkipWithError("prepare pin dir");
  std::string pin = paths.netns_dir + "/raw";
  int home = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  for (auto _ : state) {
    if (::unshare(CLONE_NEWNET) < 0) return state.SkipWithError("unshare");
    int fd = ::open(pin.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    ::close(fd);
    if (::mount("/proc/thread-self/ns/net", pin.c_str(), nullptr, MS_BIND, nullptr) < 0)
      return state.SkipWithError("bind");
    if (::setns(home, CLONE_NEWNET) < 0) return state.SkipWithError("setns back");
    ::umount2(pin.c_str(), MNT_DETACH);
    ::unlink(pin.c_str());
  }
  ::close(home);
}

void BM_NetnsCreatePinRemove_podns(benchmark::State& state) {
  if (::geteuid() != 0) return state.SkipWithError("needs root");
  BenchDir dir;
  Paths paths = Paths::under(dir.path + "/run", dir.path + "/state");
  NamespaceType net = NamespaceType::net;
  for (auto _ : state) {
    auto pin = create_pinned(paths, net, "podns");
    if (!pin) return state.SkipWithError(pin.error().message().c_str());
    if (auto st = remove_pinned(paths, "podns", std::span<const NamespaceType>(&net, 1)); !st)
      return state.SkipWithError(st.error().message().c_str());
  }
}

// A netns to switch into, pinned for the benchmark's duration.
struct TargetNetns {
  BenchDir dir;
  Paths paths = Paths::under(dir.path + "/run", dir.path + "/state");
  std::optional<Namespace> ns;
  TargetNetns() {
    if (auto pin = create_pinned(paths, NamespaceType::net, "target"))
      if (auto n = Namespace::open_path(pin->path, NamespaceType::net)) ns.emplace(std::move(*n));
  }
  ~TargetNetns() { (void)remove_pinned(paths, "target"); }
};

void BM_RunInNetns_raw(benchmark::State& state) {
  if (::geteuid() != 0) return state.SkipWithError("needs root");
  TargetNetns target;
  if (!target.ns) return state.SkipWithError("create target netns");
  int home = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  for (auto _ : state) {
    if (::setns(target.ns->fd().get(), CLONE_NEWNET) < 0) return state.SkipWithError("setns");
    benchmark::ClobberMemory();
    if (::setns(home, CLONE_NEWNET) < 0) return state.SkipWithError("setns back");
  }
  ::close(home);
}

void BM_RunInNetns_podns(benchmark::State& state) {
  if (::geteuid() != 0) return state.SkipWithError("needs root");
  TargetNetns target;
  if (!target.ns) return state.SkipWithError("create target netns");
  for (auto _ : state) {
    auto st = run_in_namespace(*target.ns, [] { benchmark::ClobberMemory(); });
    if (!st) return state.SkipWithError(st.error().message().c_str());
  }
}

int spawn_wait(const std::vector<std::string>& argv) {
  std::vector<char*> a;
  for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  int rc = posix_spawnp(&pid, a[0], &fa, nullptr, a.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void BM_CliAddRm_ip(benchmark::State& state) {
  if (::geteuid() != 0) return state.SkipWithError("needs root");
  std::string name = "podns-bench-ip-" + std::to_string(::getpid());
  for (auto _ : state) {
    if (spawn_wait({"ip", "netns", "add", name}) != 0) return state.SkipWithError("ip netns add");
    if (spawn_wait({"ip", "netns", "del", name}) != 0) return state.SkipWithError("ip netns del");
  }
}

void BM_CliAddRm_podns(benchmark::State& state) {
  if (::geteuid() != 0) return state.SkipWithError("needs root");
  ::unsetenv("PODNS_RUN_DIR");  // the same /run/netns as ip
  std::string name = "podns-bench-podns-" + std::to_string(::getpid());
  for (auto _ : state) {
    if (spawn_wait({PODNS_CLI_PATH, "ns", "add", name}) != 0) return state.SkipWithError("podns ns add");
    if (spawn_wait({PODNS_CLI_PATH, "ns", "rm", name}) != 0) return state.SkipWithError("podns ns rm");
  }
}

}  // namespace

// A pod's three namespaces pinned with the timer paused; only the umount2 calls are timed. Both
// ways drop the last reference to the namespaces inside the timed call.
constexpr std::array<NamespaceType, 3> kPodTypes = {NamespaceType::net, NamespaceType::ipc, NamespaceType::uts};

void BM_UnpinThree_each(benchmark::State& state) {
  if (::geteuid() != 0) return state.SkipWithError("needs root");
  BenchDir dir;
  Paths paths = Paths::under(dir.path + "/run", dir.path + "/state");
  for (auto _ : state) {
    state.PauseTiming();
    auto pins = create_pinned(paths, kPodTypes, "pod");
    if (!pins) return state.SkipWithError(pins.error().message().c_str());
    state.ResumeTiming();
    for (const auto& p : *pins) ::umount2(p.path.c_str(), MNT_DETACH);
    state.PauseTiming();
    (void)remove_pinned(paths, "pod", kPodTypes);  // the files, now stale
    state.ResumeTiming();
  }
}

void BM_UnpinThree_one_parent(benchmark::State& state) {
  if (::geteuid() != 0) return state.SkipWithError("needs root");
  BenchDir dir;
  Paths paths = Paths::under(dir.path + "/run", dir.path + "/state");
  std::string pod = dir.path + "/pod";
  std::filesystem::create_directories(pod);
  for (auto _ : state) {
    state.PauseTiming();
    auto pins = create_pinned(paths, kPodTypes, "pod");
    if (!pins) return state.SkipWithError(pins.error().message().c_str());
    if (::mount("tmpfs", pod.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0755") < 0)
      return state.SkipWithError("tmpfs");
    for (const auto& p : *pins) {
      std::string copy = pod + "/" + std::string(to_string(p.type));
      ::close(::open(copy.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
      if (::mount(p.path.c_str(), copy.c_str(), nullptr, MS_BIND, nullptr) < 0) return state.SkipWithError("bind");
    }
    (void)remove_pinned(paths, "pod", kPodTypes);  // the tmpfs now holds the only pins
    state.ResumeTiming();
    ::umount2(pod.c_str(), MNT_DETACH);
  }
}

BENCHMARK(BM_NetnsCreatePinRemove_raw)->Name("BM_NetnsCreatePinRemove/raw")->UseRealTime();
BENCHMARK(BM_NetnsCreatePinRemove_podns)->Name("BM_NetnsCreatePinRemove/podns")->UseRealTime();
BENCHMARK(BM_RunInNetns_raw)->Name("BM_RunInNetns/raw");
BENCHMARK(BM_RunInNetns_podns)->Name("BM_RunInNetns/podns");
BENCHMARK(BM_CliAddRm_ip)->Name("BM_CliAddRm/ip")->UseRealTime();
BENCHMARK(BM_CliAddRm_podns)->Name("BM_CliAddRm/podns")->UseRealTime();
BENCHMARK(BM_UnpinThree_each)->Name("BM_UnpinThree/each")->UseRealTime();
BENCHMARK(BM_UnpinThree_one_parent)->Name("BM_UnpinThree/one_parent")->UseRealTime();

BENCHMARK_MAIN();
