// The rootless drivers through the CLI, as root (item 5: an isolated pod without a bridge):
// `podns pod create --rootless-net ... -p`, a server in the pod reached through the published
// port, `pod inspect --json` naming the driver and its PID, `pod rm` stopping it, `podns gc`
// stopping a helper no pod owns, and a taken port rolling the whole pod back.
#include <gtest/gtest.h>

#include <sys/mount.h>
#include <sys/wait.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "../rootless/pod_fixture.hpp"
#include "podns/rootless/driver.hpp"
#include "test_support.hpp"

namespace podns::rootless {
namespace {

namespace fs = std::filesystem;
using podns::test::Server;
using podns::test::TempDir;

class RootlessCli : public ::testing::Test {
 protected:
  std::vector<std::string> env() const {
    return {"PODNS_RUN_DIR=" + dir_ / "run", "PODNS_STATE_DIR=" + dir_ / "state"};
  }
  podns::test::CommandResult podns(const std::vector<std::string>& args) const {
    return podns::test::run_podns(args, env());
  }
  std::string netns_pin(const std::string& name) const { return dir_ / ("run/netns/" + name); }
  std::string rootless_dir() const { return dir_ / "run/rootless"; }
  bool rootless_dir_empty() const {
    std::error_code ec;
    return !fs::exists(rootless_dir(), ec) || fs::is_empty(rootless_dir(), ec);
  }
  // Remove what a failed test left (the pod and its helper), so the leak check names the failure
  // instead of leaking into the next test.
  void TearDown() override {
    for (auto& name : pods_) (void)podns({"pod", "rm", name});
  }
  std::string pod_name(const std::string& prefix) {
    pods_.push_back(podns::test::unique_name(prefix));
    return pods_.back();
  }

  TempDir dir_{"rlcli"};
  std::vector<std::string> pods_;
};

bool wait_gone(pid_t pid) {
  for (int i = 0; i < 200 && podns::test::process_running(pid); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return !podns::test::process_running(pid);
}

using PodnsFn = std::function<podns::test::CommandResult(const std::vector<std::string>&)>;

// create with -p, serve in the pod, fetch through the port, inspect, rm: the helper is gone.
void pod_round_trip(const std::string& name, DriverKind kind, const PodnsFn& podns, const std::string& pin) {
  uint16_t port = podns::test::free_port();
  auto created = podns({"pod", "create", name, "--rootless-net", std::string(driver_name(kind)), "-p",
                        fmt::format("127.0.0.1:{}:80", port)});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  Server server([&] { return podns::test::enter_netns(pin); }, "0.0.0.0", 80, "cli pod says hi\n");
  ASSERT_TRUE(server.ok());
  EXPECT_EQ(podns::test::fetch("127.0.0.1", port).value_or("(nothing)"), "cli pod says hi\n");

  auto inspect = podns({"pod", "inspect", name, "--json"});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  auto j = nlohmann::json::parse(inspect.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << inspect.out;
  ASSERT_TRUE(j.contains("helpers") && j["helpers"].size() == 1) << inspect.out;
  EXPECT_EQ(j["helpers"][0].value("kind", ""), driver_name(kind));
  pid_t pid = j["helpers"][0].value("pid", 0);
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(podns::test::process_running(pid));
  EXPECT_NE(inspect.out.find(fmt::format("\"hostPort\": {}", port)), std::string::npos) << inspect.out;
  auto text = podns({"pod", "inspect", name});
  EXPECT_NE(text.out.find(fmt::format("{} pid {}", driver_name(kind), pid)), std::string::npos) << text.out;

  auto rm = podns({"pod", "rm", name});
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_TRUE(wait_gone(pid)) << driver_name(kind) << " still running after pod rm";
}

TEST_F(RootlessCli, PodWithSlirp4netns) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("slirp4netns", "slirp4netns");
  std::string name = pod_name("rls");
  pod_round_trip(name, DriverKind::slirp4netns, [this](auto& a) { return podns(a); }, netns_pin(name));
  EXPECT_TRUE(rootless_dir_empty()) << "socket or log left in " << rootless_dir();
}

TEST_F(RootlessCli, PodWithPasta) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("pasta", "passt");
  std::string name = pod_name("rlp");
  pod_round_trip(name, DriverKind::pasta, [this](auto& a) { return podns(a); }, netns_pin(name));
  EXPECT_TRUE(rootless_dir_empty()) << "pid file or log left in " << rootless_dir();
}

TEST_F(RootlessCli, TakenPortRollsThePodBack) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("slirp4netns", "slirp4netns");
  PODNS_REQUIRE_TOOL("pasta", "passt");
  UniqueFd taken = podns::test::listen_tcp("0.0.0.0", 0);
  ASSERT_TRUE(taken);
  uint16_t port = podns::test::bound_port(taken.view());
  for (DriverKind kind : {DriverKind::slirp4netns, DriverKind::pasta}) {
    std::string name = pod_name("rlt");
    auto created = podns({"pod", "create", name, "--rootless-net", std::string(driver_name(kind)), "-p",
                          fmt::format("{}:80", port)});
    EXPECT_EQ(created.exit_code, 1) << created.out << created.err;
    EXPECT_NE(created.err.find(fmt::format("host port {}/tcp is already in use", port)), std::string::npos)
        << created.err;
    EXPECT_EQ(created.err.rfind("podns: ", 0), 0u) << created.err;
    auto inspect = podns({"pod", "inspect", name});
    EXPECT_NE(inspect.exit_code, 0) << "the pod survived a failed create:\n" << inspect.out;
    EXPECT_FALSE(fs::exists(netns_pin(name))) << "netns pin left behind";
    EXPECT_TRUE(rootless_dir_empty());
  }
}

TEST_F(RootlessCli, UnknownDriverIsAUsageError) {
  PODNS_REQUIRE_ROOT();
  std::string name = pod_name("rlu");
  auto created = podns({"pod", "create", name, "--rootless-net", "vpnkit"});
  EXPECT_NE(created.exit_code, 0);
  EXPECT_NE(created.err.find("expected slirp4netns or pasta"), std::string::npos) << created.err;
  EXPECT_NE(podns({"pod", "inspect", name}).exit_code, 0);
}

// A helper whose pod is gone from the state (a crash between spawn and the state write): gc
// finds it by its command line pointing into the run dir, stops it and removes its files. pasta
// too, although it runs as passt.avx2 (its netns here is held by a process, so it would not quit
// on its own).
class RootlessCliGc : public RootlessCli, public ::testing::WithParamInterface<DriverKind> {};

TEST_P(RootlessCliGc, StopsAHelperNoPodOwns) {
  PODNS_REQUIRE_ROOT();
  const DriverKind kind = GetParam();
  if (kind == DriverKind::pasta) PODNS_REQUIRE_TOOL("pasta", "passt");
  else PODNS_REQUIRE_TOOL("slirp4netns", "slirp4netns");
  podns::test::NsHolder holder(podns::test::PodUserns::none);
  ASSERT_TRUE(holder.ok()) << holder.error();
  // A pin of the holder's netns, as pods have: pasta drops its capabilities before it opens the
  // netns, and then cannot open another process's /proc/PID/ns/net.
  std::string pin = dir_ / "orphan.netns";
  std::ofstream(pin).close();
  ASSERT_EQ(mount(holder.netns_path().c_str(), pin.c_str(), nullptr, MS_BIND, nullptr), 0) << strerror(errno);
  struct Unpin {
    std::string path;
    ~Unpin() { umount2(path.c_str(), MNT_DETACH); }
  } unpin{pin};
  RootlessNetRequest req;
  req.kind = kind;
  req.name = "orphan";
  req.netns_path = pin;
  req.run_dir = rootless_dir();
  req.exit_with_handle = false;
  auto net = start_rootless_net(req);
  ASSERT_OK(net);
  RootlessNetRecord rec = net->detach();
  ASSERT_TRUE(podns::test::process_running(rec.pid));
  auto gc = podns({"gc"});
  EXPECT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_NE(gc.out.find("stopped orphaned"), std::string::npos) << gc.out;
  EXPECT_NE(gc.out.find(fmt::format(" pid {}", rec.pid)), std::string::npos) << gc.out;
  bool gone = wait_gone(rec.pid);
  if (!gone) (void)stop(rec);
  EXPECT_TRUE(gone);
  // It was started by this test process: reap it (gc, another process, could not).
  for (int i = 0; i < 200 && waitpid(rec.pid, nullptr, WNOHANG) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(rootless_dir_empty());
}

INSTANTIATE_TEST_SUITE_P(Drivers, RootlessCliGc, ::testing::Values(DriverKind::slirp4netns, DriverKind::pasta),
                         [](const auto& info) { return std::string(driver_name(info.param)); });

}  // namespace
}  // namespace podns::rootless
