// The rootless kill points, as root through the CLI (podns-faulty: src/sys/fault.hpp): `pod
// create --rootless-net slirp4netns|pasta` SIGKILLed after the helper intent is recorded
// (create.helper-intent) and after the helper started but before its record was committed
// (create.helper-started: the helper runs on, named nowhere in the state). Then `podns gc`, or
// `pod rm` alone, must leave the host as it was: no helper process, no pin, no state row, no
// socket, pid file or log. The unprivileged user's version runs in session_test.cpp.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "../rootless/pod_fixture.hpp"
#include "podns/rootless/driver.hpp"
#include "test_support.hpp"

namespace podns::rootless {
namespace {

namespace fs = std::filesystem;
using podns::test::TempDir;

struct Case {
  const char* point;
  DriverKind kind;
  bool rm_first;  // `pod rm NAME` instead of gc, as a user who saw the create fail would do
};

class RootlessCrash : public ::testing::TestWithParam<Case> {
 protected:
  std::vector<std::string> env() const {
    return {"PODNS_RUN_DIR=" + dir_ / "run", "PODNS_STATE_DIR=" + dir_ / "state"};
  }
  std::string rootless_dir() const { return dir_ / "run/rootless"; }
  void TearDown() override {
    // What a failure left: stop it, so the leak check names the failure rather than the leftovers.
    (void)podns::test::run_podns({"pod", "rm", "--force", name_}, env());
    (void)podns::test::run_podns({"gc"}, env());
  }

  TempDir dir_{"rlcrash"};
  std::string name_ = podns::test::unique_name("rlk");
};

TEST_P(RootlessCrash, KilledCreateLeavesNothingBehind) {
  PODNS_REQUIRE_ROOT();
  const Case c = GetParam();
  if (c.kind == DriverKind::pasta) PODNS_REQUIRE_TOOL("pasta", "passt");
  else PODNS_REQUIRE_TOOL("slirp4netns", "slirp4netns");
  auto killed = env();
  killed.push_back(std::string("PODNS_TEST_KILL_POINT=") + c.point);
  auto r = podns::test::run_podns_faulty({"pod", "create", name_, "--rootless-net", std::string(driver_name(c.kind)),
                                          "-p", fmt::format("127.0.0.1:{}:80", podns::test::free_port())},
                                         killed);
  ASSERT_EQ(r.exit_code, 128 + 9) << "kill point " << c.point << " not reached: " << r.err;
  // Killed where the test says: the helper is running unrecorded, or was never started.
  auto running = podns::test::rootless_helpers_under(rootless_dir());
  EXPECT_EQ(running.size(), std::string(c.point) == "create.helper-started" ? 1u : 0u) << c.point;

  if (c.rm_first) {
    // pod rm alone: it stops the helper its record never named (the command line names the pod's
    // socket or pid file), so the gc after it has nothing left to do.
    auto rm = podns::test::run_podns({"pod", "rm", name_}, env());
    EXPECT_EQ(rm.exit_code, 0) << rm.err;
    auto gc = podns::test::run_podns({"gc"}, env());
    EXPECT_EQ(gc.exit_code, 0) << gc.err;
    EXPECT_EQ(gc.out, "") << "pod rm left this for gc";
  } else {
    auto gc = podns::test::run_podns({"gc"}, env());
    EXPECT_EQ(gc.exit_code, 0) << gc.err;
    EXPECT_NE(gc.out.find("pod " + name_ + ": create interrupted, rolled back"), std::string::npos) << gc.out;
  }

  for (pid_t pid : running) {
    for (int i = 0; i < 300 && podns::test::process_running(pid); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_FALSE(podns::test::process_running(pid)) << driver_name(c.kind) << " pid " << pid << " left running";
  }
  EXPECT_TRUE(podns::test::rootless_helpers_under(rootless_dir()).empty());
  auto ls = podns::test::run_podns({"pod", "ls", "--json"}, env());
  EXPECT_EQ(ls.out, "[]\n") << "state row left";
  for (const char* type : {"netns", "ns/ipc", "ns/uts"}) {
    std::string pin = dir_ / fmt::format("run/{}/{}", type, name_);
    EXPECT_FALSE(fs::exists(pin)) << pin << " left";
  }
  std::error_code ec;
  EXPECT_TRUE(!fs::exists(rootless_dir(), ec) || fs::is_empty(rootless_dir(), ec)) << "files left in " << rootless_dir();
  // A second gc finds nothing more.
  EXPECT_EQ(podns::test::run_podns({"gc"}, env()).out, "");
}

INSTANTIATE_TEST_SUITE_P(
    KillPoints, RootlessCrash,
    ::testing::Values(Case{"create.helper-intent", DriverKind::slirp4netns, false},
                      Case{"create.helper-started", DriverKind::slirp4netns, false},
                      Case{"create.helper-intent", DriverKind::pasta, false},
                      Case{"create.helper-started", DriverKind::pasta, false},
                      Case{"create.helper-started", DriverKind::slirp4netns, true},
                      Case{"create.helper-started", DriverKind::pasta, true}),
    [](const auto& info) {
      std::string n = fmt::format("{}_{}{}", info.param.point, driver_name(info.param.kind),
                                  info.param.rm_first ? "_then_rm" : "_then_gc");
      for (auto& ch : n) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
      return n;
    });

}  // namespace
}  // namespace podns::rootless
