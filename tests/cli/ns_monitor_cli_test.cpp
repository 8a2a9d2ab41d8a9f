// podns ns monitor: sees an `ip netns add` (iproute2's pin in /run/netns) and a `podns ns rm`
// made while it runs, and exits 0 on SIGTERM.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace podns::test {
namespace {

using namespace std::chrono_literals;

// `podns ns monitor --json` on the default paths, stdout on a pipe.
class Monitor {
 public:
  Monitor() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(p[1], 1);
      ::unsetenv("PODNS_RUN_DIR");
      std::string cli = podns_cli();
      ::execl(cli.c_str(), "podns", "ns", "monitor", "--json", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(p[1]);
    out_ = p[0];
  }
  ~Monitor() {
    stop();
    if (out_ >= 0) ::close(out_);
  }
  // Its watches are in place once /proc/PID/fdinfo shows one per namespace type's pin dir.
  bool wait_ready() const {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      for (const auto& fd : std::filesystem::directory_iterator("/proc/" + std::to_string(pid_) + "/fdinfo")) {
        std::ifstream in(fd.path());
        int watches = 0;
        for (std::string line; std::getline(in, line);) watches += line.rfind("inotify wd:", 0) == 0;
        if (watches == 8) return true;
      }
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
  // The next JSON line, or null after five seconds.
  nlohmann::json next() {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    for (;;) {
      if (auto nl = buf_.find('\n'); nl != std::string::npos) {
        auto j = nlohmann::json::parse(buf_.substr(0, nl));
        buf_.erase(0, nl + 1);
        return j;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      struct pollfd pfd{out_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return nullptr;
      char chunk[4096];
      ssize_t n = ::read(out_, chunk, sizeof chunk);
      if (n <= 0) return nullptr;
      buf_.append(chunk, static_cast<size_t>(n));
    }
  }
  // SIGTERM; the exit code.
  int stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buf_;
};

}  // namespace

TEST(NsMonitorCli, SeesIpNetnsAddAndPodnsNsRm) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("ip", "iproute2");
  std::string name = unique_name("podns-mon-");
  struct Cleanup {
    std::string name;
    ~Cleanup() { run({"ip", "netns", "del", name}); }
  } cleanup{name};
  Monitor monitor;
  ASSERT_TRUE(monitor.wait_ready());

  ASSERT_EQ(run({"ip", "netns", "add", name}).exit_code, 0);
  // Other pins may come and go on a shared host: look for ours.
  nlohmann::json added;
  while ((added = monitor.next()) != nullptr && added["name"] != name) {}
  ASSERT_NE(added, nullptr) << "no event for ip netns add " << name;
  EXPECT_EQ(added["event"], "added");
  EXPECT_EQ(added["type"], "net");
  EXPECT_EQ(added["path"], "/run/netns/" + name);

  auto rm = run_podns({"ns", "rm", name}, {"PODNS_RUN_DIR="});
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  nlohmann::json removed;
  while ((removed = monitor.next()) != nullptr && removed["name"] != name) {}
  ASSERT_NE(removed, nullptr) << "no event for podns ns rm " << name;
  EXPECT_EQ(removed["event"], "removed");
  EXPECT_EQ(monitor.stop(), 0);
}

}  // namespace podns::test
