// Rootless networking, measured (run as root; uses only loopback and namespaces it creates):
//
//   BM_PodCreateToAccept/<driver>   `podns pod create NAME --rootless-net <driver> -p P:80` until the
//                                   published port 127.0.0.1:P accepts a TCP connection
//   BM_ShellSlirpToAccept           the plain shell baseline: bash starts slirp4netns with a ready fd
//                                   against an existing netns, then adds the forward through the API
//                                   socket (python3 as the socket client; bash has no AF_UNIX), until
//                                   the port accepts
//   BM_Python3Startup               the baseline's socket client alone (/usr/bin/python3 startup)
//   BM_LibraryStartToReply/<driver> start_rootless_net() with one forward until a server already
//                                   running in the pod answers through it (first byte end to end)
//   BM_Transfer100MB/<driver>       100 MB from the host through the published port into a sink in
//                                   the pod (connect, send, shut, wait for the sink's close); wall time
//   BM_Transfer100MB/loopback       the same 100 MB straight over the host's loopback, for scale
//
// Reproduce: cmake -S . -B build-bench -G Ninja -DPODNS_BENCH=ON && cmake --build build-bench
//            --target bench_rootless && sudo build-bench/bench/bench_rootless
#include <benchmark/benchmark.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "../tests/rootless/pod_fixture.hpp"
#include "bench_dir.hpp"
#include "podns/rootless/driver.hpp"

namespace {

namespace fs = std::filesystem;
using podns::rootless::DriverKind;
using podns::test::NsHolder;
using podns::test::PodUserns;
using Clock = std::chrono::steady_clock;

constexpr size_t kTransferBytes = 100u << 20;


// Run argv to completion, quietly; its exit code.
int run_quiet(const std::vector<std::string>& argv, const std::vector<std::string>& env = {}) {
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 1);
    dup2(devnull, 2);
    for (auto& kv : env) putenv(const_cast<char*>(kv.c_str()));
    execvp(cargv[0], cargv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Spin until 127.0.0.1:port accepts a TCP connection (10 s at most).
bool wait_accepting(uint16_t port) {
  auto until = Clock::now() + std::chrono::seconds(10);
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  while (Clock::now() < until) {
    podns::UniqueFd s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return true;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return false;
}

void BM_PodCreateToAccept(benchmark::State& state, DriverKind kind) {
  podns::bench::BenchDir dir;
  std::vector<std::string> env{"PODNS_RUN_DIR=" + dir.path + "/run", "PODNS_STATE_DIR=" + dir.path + "/state"};
  int i = 0;
  for (auto _ : state) {
    std::string name = fmt::format("bench{}", i++);
    uint16_t port = podns::test::free_port();
    auto t0 = Clock::now();
    int rc = run_quiet({PODNS_CLI_PATH, "pod", "create", name, "--rootless-net",
                        std::string(podns::rootless::driver_name(kind)), "-p", fmt::format("{}:80", port)},
                       env);
    bool ok = rc == 0 && wait_accepting(port);
    auto t1 = Clock::now();
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
    run_quiet({PODNS_CLI_PATH, "pod", "rm", name}, env);
    if (!ok) {
      state.SkipWithError("pod create failed or the port never accepted");
      break;
    }
  }
}

void BM_ShellSlirpToAccept(benchmark::State& state) {
  podns::bench::BenchDir dir;
  const std::string script = dir.path + "/baseline.sh";
  std::ofstream(script) << R"(set -e
NETNS=$1 PORT=$2 SOCK=$3
exec 4>&1
# slirp4netns writes "1" to the ready fd once tap0 is configured; read it through a pipe.
ready=$( { slirp4netns --configure --mtu=65520 --disable-host-loopback --ready-fd=3 --api-socket "$SOCK" \
           --netns-type=path "$NETNS" tap0 3>&1 >/dev/null 2>&1 4>&- & echo "pid $!" >&4; } | head -c1 )
/usr/bin/python3 -c 'import socket,sys
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(("{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\",\"host_addr\":\"127.0.0.1\",\"host_port\":%s,\"guest_port\":80}}" % sys.argv[2]).encode())
s.shutdown(socket.SHUT_WR); r=s.recv(4096); sys.exit(0 if b"return" in r else 1)' "$SOCK" "$PORT"
)";
  for (auto _ : state) {
    state.PauseTiming();
    NsHolder holder(PodUserns::none);
    uint16_t port = podns::test::free_port();
    std::string sock = dir.path + "/api.sock";
    int out[2];
    if (!holder.ok() || pipe(out) < 0) {
      state.SkipWithError("no namespace holder");
      break;
    }
    state.ResumeTiming();
    auto t0 = Clock::now();
    pid_t pid = fork();
    if (pid == 0) {
      dup2(out[1], 1);
      close(out[0]);
      execlp("bash", "bash", script.c_str(), holder.netns_path().c_str(), std::to_string(port).c_str(),
             sock.c_str(), nullptr);
      _exit(127);
    }
    close(out[1]);
    int status = 0;
    waitpid(pid, &status, 0);
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && wait_accepting(port);
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - t0).count());
    // The script printed the helper's pid; stop it (it is no child of ours: poll its pidfd).
    char buf[64] = {};
    ssize_t n = read(out[0], buf, sizeof buf - 1);
    close(out[0]);
    pid_t slirp = 0;
    if (n > 0) sscanf(buf, "pid %d", &slirp);
    if (slirp > 0) {
      podns::UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, slirp, 0)));
      if (pidfd) {
        syscall(SYS_pidfd_send_signal, pidfd.get(), SIGTERM, nullptr, 0);
        pollfd p = {pidfd.get(), POLLIN, 0};
        poll(&p, 1, 2000);
      }
    }
    unlink(sock.c_str());
    if (!ok) {
      state.SkipWithError("baseline script failed");
      break;
    }
  }
}

// What the baseline pays for its socket client alone (python3 starting and importing socket).
void BM_Python3Startup(benchmark::State& state) {
  for (auto _ : state) {
    auto t0 = Clock::now();
    int rc = run_quiet({"/usr/bin/python3", "-c", "import socket,sys"});
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - t0).count());
    if (rc != 0) {
      state.SkipWithError("python3 failed");
      break;
    }
  }
}

void BM_LibraryStartToReply(benchmark::State& state, DriverKind kind) {
  podns::bench::BenchDir dir;
  for (auto _ : state) {
    state.PauseTiming();
    auto holder = std::make_unique<NsHolder>(PodUserns::root_only);
    auto server = std::make_unique<podns::test::Server>(holder.get(), "0.0.0.0", 80, "hi\n");
    podns::rootless::RootlessNetRequest req;
    req.kind = kind;
    req.name = "bench";
    req.netns_path = holder->netns_path();
    req.userns_path = holder->userns_path();
    req.run_dir = dir.path + "/rootless";
    uint16_t port = podns::test::free_port();
    req.forwards.push_back({"127.0.0.1", port, 80, podns::rootless::Proto::tcp, -1});
    state.ResumeTiming();
    auto t0 = Clock::now();
    auto net = podns::rootless::start_rootless_net(req);
    bool ok = net && podns::test::fetch("127.0.0.1", port) == std::optional<std::string>("hi\n");
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - t0).count());
    if (net) (void)net->stop();
    if (!ok) {
      state.SkipWithError(net ? "no reply through the forward" : net.error().message().c_str());
      break;
    }
  }
}

// Send kTransferBytes to 127.0.0.1:port, shut the write side, wait for the server to close.
bool transfer(uint16_t port) {
  podns::UniqueFd s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) return false;
  static std::vector<char> chunk(1 << 16, 'x');
  size_t sent = 0;
  while (sent < kTransferBytes) {
    ssize_t n = send(s.get(), chunk.data(), std::min(chunk.size(), kTransferBytes - sent), MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  shutdown(s.get(), SHUT_WR);
  char buf[256];
  while (read(s.get(), buf, sizeof buf) > 0) {
  }
  return true;
}

void BM_Transfer100MB(benchmark::State& state, std::optional<DriverKind> kind) {
  podns::bench::BenchDir dir;
  std::unique_ptr<NsHolder> holder;
  std::unique_ptr<podns::test::Server> server;
  podns::rootless::RootlessNet net;
  uint16_t port = 0;
  if (kind) {
    holder = std::make_unique<NsHolder>(PodUserns::root_only);
    server = std::make_unique<podns::test::Server>(holder.get(), "0.0.0.0", 80, "sink\n");
    podns::rootless::RootlessNetRequest req;
    req.kind = *kind;
    req.name = "bench";
    req.netns_path = holder->netns_path();
    req.userns_path = holder->userns_path();
    req.run_dir = dir.path + "/rootless";
    port = podns::test::free_port();
    req.forwards.push_back({"127.0.0.1", port, 80, podns::rootless::Proto::tcp, -1});
    auto started = podns::rootless::start_rootless_net(req);
    if (!started) {
      state.SkipWithError(started.error().message().c_str());
      return;
    }
    net = std::move(*started);
    podns::test::fetch("127.0.0.1", port);  // warm: the forward reaches the sink
  } else {
    server = std::make_unique<podns::test::Server>(nullptr, "127.0.0.1", 0, "sink\n");
    port = server->port();
  }
  for (auto _ : state) {
    if (!transfer(port)) {
      state.SkipWithError("transfer failed");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kTransferBytes));
}

BENCHMARK_CAPTURE(BM_PodCreateToAccept, slirp4netns, DriverKind::slirp4netns)->UseManualTime()->Iterations(10)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_PodCreateToAccept, pasta, DriverKind::pasta)->UseManualTime()->Iterations(10)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ShellSlirpToAccept)->UseManualTime()->Iterations(10)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_LibraryStartToReply, slirp4netns, DriverKind::slirp4netns)->UseManualTime()->Iterations(10)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_LibraryStartToReply, pasta, DriverKind::pasta)->UseManualTime()->Iterations(10)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Python3Startup)->UseManualTime()->Iterations(10)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Transfer100MB, slirp4netns, std::optional<DriverKind>(DriverKind::slirp4netns))->UseRealTime()->Iterations(3)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Transfer100MB, pasta, std::optional<DriverKind>(DriverKind::pasta))->UseRealTime()->Iterations(3)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Transfer100MB, loopback, std::optional<DriverKind>())->UseRealTime()->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
