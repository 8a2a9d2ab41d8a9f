// Eight threads of one process for a minute (PODNS_STRESS_SECONDS sets another length), each
// cycling through the library's concurrent entry points: spawn of a short process (plain, and
// joining a test netns through the spawn helper), run_in_namespace into that netns, and pod
// create + rm on a native network of the test's own. Afterwards the process must hold what it
// held before: the same number of fds (idle SQLite connections closed first), the same mounts
// under the test's dirs, no child process and no zombie. A watchdog fails the run with each
// thread's current step and kernel stack when one step takes longer than 30 s (a deadlock).
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "../pod/pod_fixture.hpp"
#include "podns/pin.hpp"
#include "podns/pod/pod.hpp"
#include "podns/run_in_ns.hpp"
#include "podns/spawn.hpp"
#include "podns/state/store.hpp"

namespace podns {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kThreads = 8;
constexpr auto kStuck = std::chrono::seconds(30);

std::chrono::seconds stress_duration() {
  const char* s = std::getenv("PODNS_STRESS_SECONDS");
  int n = s && *s ? std::atoi(s) : 60;
  return std::chrono::seconds(n > 0 ? n : 60);
}

int count_fds() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) return -1;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n - 1;  // the directory's own fd
}

// Mount points at or below `dir` in our mount namespace, one line each.
std::vector<std::string> mounts_under(const std::string& dir) {
  std::vector<std::string> out;
  std::ifstream mi("/proc/self/mountinfo");
  for (std::string line; std::getline(mi, line);) {
    std::istringstream ls(line);
    std::string id, parent, devno, root, point;
    ls >> id >> parent >> devno >> root >> point;
    if (point == dir || point.rfind(dir + "/", 0) == 0) out.push_back(point);
  }
  return out;
}

// Our children, zombies included: "pid comm state".
std::vector<std::string> children() {
  std::vector<std::string> out;
  std::string self = std::to_string(::getpid());
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string pid = e->d_name;
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream f("/proc/" + pid + "/stat");
    std::string stat;
    std::getline(f, stat);
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string state, ppid;
    rest >> state >> ppid;
    if (ppid == self) out.push_back(pid + " " + stat.substr(stat.find('(') + 1, close - stat.find('(') - 1) + " " + state);
  }
  ::closedir(d);
  return out;
}

uint64_t inode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

using test::read_text;

// What each worker is doing and since when, for the watchdog.
struct Progress {
  std::atomic<const char*> step{"starting"};
  std::atomic<int64_t> since_ns{0};
  std::atomic<pid_t> tid{0};
  std::atomic<long> done{0};
  std::atomic<bool> finished{false};
  void begin(const char* what) {
    step.store(what);
    since_ns.store(Clock::now().time_since_epoch().count());
  }
};

// Fails the whole run, with a hint, when a step of one worker exceeds `stuck`: the workers of a
// deadlocked run never return, so there is nothing to join and only the process can end.
class Watchdog {
 public:
  explicit Watchdog(std::array<Progress, kThreads>& progress, std::chrono::seconds stuck = kStuck)
      : progress_(progress), stuck_(stuck), thread_([this] { run(); }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  void run() {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; })) {
      auto now = Clock::now().time_since_epoch().count();
      for (auto& p : progress_) {
        if (!p.finished.load() && std::chrono::nanoseconds(now - p.since_ns.load()) > stuck_) report_and_die();
      }
    }
  }
  [[noreturn]] void report_and_die() {
    std::string hint = fmt::format("stress: no progress for {} s; the workers:\n", stuck_.count());
    auto now = Clock::now().time_since_epoch().count();
    for (size_t i = 0; i < progress_.size(); ++i) {
      auto& p = progress_[i];
      if (p.finished.load()) {
        hint += fmt::format("  worker {}: finished, {} steps done\n", i, p.done.load());
        continue;
      }
      std::string task = fmt::format("/proc/self/task/{}/", p.tid.load());
      hint += fmt::format("  worker {} (tid {}): '{}' for {} ms, {} steps done; wchan {}, syscall {}\n{}", i,
                          p.tid.load(), p.step.load(),
                          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::nanoseconds(now - p.since_ns.load())).count(),
                          p.done.load(), read_text(task + "wchan"), read_text(task + "syscall"),
                          read_text(task + "stack"));
    }
    std::fputs(hint.c_str(), stderr);
    std::fflush(stderr);
    std::_Exit(1);
  }

  std::array<Progress, kThreads>& progress_;
  const std::chrono::seconds stuck_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// One worker's steps; an unexpected result is recorded (first few only) and the worker goes on.
struct Worker {
  int index;
  pod::PodEnv& env;
  const std::string& netns_path;
  uint64_t netns_inode;
  Progress& progress;
  std::vector<std::string> errors;

  void failed(const std::string& what) {
    if (errors.size() < 5) errors.push_back(fmt::format("worker {}: {}", index, what));
  }

  void spawn_short(bool in_netns) {
    progress.begin(in_netns ? "spawn into the netns" : "spawn");
    SpawnRequest req;
    req.argv = {"/bin/sh", "-c", "exit 3"};
    if (in_netns) req.namespaces = {{NamespaceType::net, netns_path}};
    auto child = spawn(req);
    if (!child) return failed("spawn: " + child.error().message());
    auto code = child->wait();
    if (!code || *code != 3) failed(fmt::format("spawn: exit {}", code ? *code : -1));
  }

  void enter_netns() {
    progress.begin("run_in_namespace");
    uint64_t home = inode_of("/proc/thread-self/ns/net");
    auto inside = run_in_namespace_path(netns_path, NamespaceType::net,
                                        [] { return inode_of("/proc/thread-self/ns/net"); });
    if (!inside) return failed("run_in_namespace: " + inside.error().message());
    if (*inside != netns_inode) failed("run_in_namespace: ran in the wrong netns");
    if (inode_of("/proc/thread-self/ns/net") != home) failed("run_in_namespace: did not come back");
  }

  void pod_round_trip(long round) {
    std::string name = fmt::format("stress{}", index);
    pod::CreateOptions o{.name = name};
    // Half the workers publish a port: the firewall's element batches run concurrently too.
    if (index % 2 == 0) o.ports = {{"127.0.0.1", 34000 + (::getpid() % 500) * 8 + index, 80, "tcp"}};
    progress.begin("pod create");
    auto info = pod::create(env, o);
    if (!info) return failed(fmt::format("pod create (round {}): {}", round, info.error().message()));
    progress.begin("pod rm");
    if (auto s = pod::remove(env, name); !s) failed(fmt::format("pod rm (round {}): {}", round, s.error().message()));
  }

  void run(Clock::time_point until) {
    progress.tid.store(static_cast<pid_t>(::gettid()));
    for (long round = 0; Clock::now() < until; ++round) {
      switch ((round + index) % 4) {
        case 0: spawn_short(false); break;
        case 1: spawn_short(true); break;
        case 2: enter_netns(); break;
        default: pod_round_trip(round); break;
      }
      progress.done.fetch_add(1);
    }
    progress.begin("finished");
    progress.finished.store(true);
  }
};

TEST(Stress, EightThreadsLeaveNoFdMountChildOrDeadlock) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("nft", "nftables");
  test::PodWorld w;
  auto netns = create_pinned(w.env.paths, NamespaceType::net, test::unique_name("sx"));
  ASSERT_OK(netns);
  const uint64_t netns_inode = inode_of(netns->path);

  // Warm up on this thread what the process keeps for good by design: the host's network plane
  // (nf_tables and rtnetlink sockets), the default network, the pin dirs' self-mounts.
  std::array<Progress, kThreads> progress;
  Worker warm{0, w.env, netns->path, netns_inode, progress[0], {}};
  for (long r = 0; r < 4; ++r) {
    warm.spawn_short(r % 2 == 1);
    warm.enter_netns();
    warm.pod_round_trip(r);
  }
  ASSERT_TRUE(warm.errors.empty()) << warm.errors.front();
  state::Store::close_idle();
  const int fds_before = count_fds();
  const auto mounts_before = mounts_under(w.dir().path());

  const auto duration = stress_duration();
  std::vector<Worker> workers;
  for (int i = 0; i < kThreads; ++i) workers.push_back({i, w.env, netns->path, netns_inode, progress[i], {}});
  for (auto& p : progress) p.begin("starting");
  long steps = 0;
  {
    Watchdog watchdog(progress);
    std::vector<std::thread> threads;
    const auto until = Clock::now() + duration;
    for (auto& wk : workers) threads.emplace_back([&wk, until] { wk.run(until); });
    for (auto& t : threads) t.join();
  }
  for (auto& p : progress) steps += p.done.load();
  for (auto& wk : workers)
    for (auto& e : wk.errors) ADD_FAILURE() << e;
  EXPECT_GE(steps, kThreads) << "the workers hardly ran";
  std::printf("stress: %ld steps in %lld s by %d threads\n", steps, static_cast<long long>(duration.count()), kThreads);

  state::Store::close_idle();
  EXPECT_EQ(count_fds(), fds_before) << "fds leaked (ls -l /proc/" << ::getpid() << "/fd)";
  EXPECT_EQ(mounts_under(w.dir().path()), mounts_before);
  auto kids = children();
  for (const auto& k : kids) ADD_FAILURE() << "child process left: " << k;
  auto pods = pod::list(w.env);
  ASSERT_OK(pods);
  EXPECT_TRUE(pods->empty());
  ASSERT_OK(remove_pin(netns->path, pin_dir(w.env.paths, NamespaceType::net)));
}

// Run only re-executed by Stress.WatchdogNamesTheStuckStep (ctest leaves *Inner tests out): one
// worker hangs in a step while the others are done.
TEST(StressInner, OneWorkerHangs) {
  if (!std::getenv("PODNS_STRESS_INNER")) GTEST_SKIP() << "runs only under Stress.WatchdogNamesTheStuckStep";
  std::array<Progress, kThreads> progress;
  for (auto& p : progress) {
    p.tid.store(static_cast<pid_t>(::gettid()));
    p.begin("finished");
    p.finished.store(true);
  }
  progress[3].finished.store(false);
  progress[3].begin("hang");
  Watchdog watchdog(progress, std::chrono::seconds(1));
  std::this_thread::sleep_for(std::chrono::seconds(30));
  ADD_FAILURE() << "the watchdog did not end the process";
}

// A deadlock cannot fail a test the usual way (the workers are never joined): the watchdog ends
// the process with exit status 1 and names the stuck worker, its step and where it sleeps.
TEST(Stress, WatchdogNamesTheStuckStep) {
  std::error_code ec;
  std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  auto r = test::run({self, "--gtest_filter=StressInner.OneWorkerHangs"}, {"PODNS_STRESS_INNER=1", "PODNS_LEAK_CHECK=0"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("stress: no progress for 1 s"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("worker 3 (tid "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'hang' for "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("wchan "), std::string::npos) << r.err;
}

}  // namespace
}  // namespace podns
