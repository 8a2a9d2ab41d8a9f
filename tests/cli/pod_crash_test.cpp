// SIGKILL `pod create` and `pod rm` at every kill point (PODNS_TEST_KILL_POINT, test-only), then
// prove that `podns gc` leaves zero pins, mounts, veths, iptables/nft rules, CNI cache entries,
// host-local leases and processes. The leak check after each case covers mounts, host interfaces,
// nft rules and processes on top of the asserts here.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "../pod/pod_fixture.hpp"
#include "podns/pin.hpp"

namespace podns::pod {
namespace {

using podns::test::PodWorld;
using podns::test::run;
using podns::test::run_podns;
namespace fs = std::filesystem;

void expect_clean_host(PodWorld& w, const std::string& name) {
  auto pods = list(w.env);
  ASSERT_OK(pods);
  EXPECT_TRUE(pods->empty());
  auto pins = list_pins(w.env.paths);
  ASSERT_OK(pins);
  for (const auto& p : *pins) ADD_FAILURE() << "pin left: " << p.path;
  std::error_code ec;
  for (auto it = fs::directory_iterator(w.env.paths.cni_cache_dir + "/results", ec); !ec && it != fs::directory_iterator(); ++it)
    ADD_FAILURE() << "CNI cache entry left: " << it->path();
  for (auto it = fs::recursive_directory_iterator(w.env.default_network.data_dir, ec);
       !ec && it != fs::recursive_directory_iterator(); ++it) {
    auto f = it->path().filename().string();
    if (it->is_regular_file() && f.rfind("last_reserved_ip", 0) != 0 && f != "lock")
      ADD_FAILURE() << "host-local lease left: " << it->path();
  }
  // No veth on our bridge, no rule naming the pod's container id.
  auto links = run({"ip", "-o", "link", "show", "master", w.bridge()});
  EXPECT_EQ(links.out, "") << links.out;
  auto rules = run({"iptables-save"});
  EXPECT_EQ(rules.out.find(container_id(name)), std::string::npos) << "iptables rules of " << name << " left";
}

class PodCrash : public ::testing::TestWithParam<const char*> {};

TEST_P(PodCrash, CreateKilledThenGcLeavesNothing) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("/usr/lib/cni/bridge", "containernetworking-plugins");
  PODNS_REQUIRE_TOOL("nft", "nftables");
  PodWorld w;
  auto env = w.cli_env();
  auto killed = env;
  killed.push_back(std::string("PODNS_TEST_KILL_POINT=") + GetParam());
  // Unique names: the iptables rules of concurrently running tests share one host.
  std::string name = test::unique_name("crash");
  auto r = run_podns({"pod", "create", name, "-p", fmt::format("127.0.0.1:{}:80", 40000 + getpid() % 1000)}, killed);
  ASSERT_EQ(r.exit_code, 128 + 9) << "kill point " << GetParam() << " not reached: " << r.err;
  auto gc = run_podns({"gc"}, env);
  EXPECT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_NE(gc.out.find("pod " + name), std::string::npos) << gc.out;
  expect_clean_host(w, name);
}

INSTANTIATE_TEST_SUITE_P(KillPoints, PodCrash,
                         ::testing::Values("create.recorded", "create.pin-intent", "create.pinned",
                                           "create.attach-intent", "create.attached", "create.before-ready"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (auto& c : n) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return n;
                         });

class PodRmCrash : public ::testing::TestWithParam<const char*> {};

TEST_P(PodRmCrash, RemoveKilledThenGcLeavesNothing) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("/usr/lib/cni/bridge", "containernetworking-plugins");
  PODNS_REQUIRE_TOOL("nft", "nftables");
  PodWorld w;
  auto env = w.cli_env();
  std::string name = test::unique_name("crash");
  ASSERT_EQ(run_podns({"pod", "create", name, "-p", fmt::format("127.0.0.1:{}:80", 41000 + getpid() % 1000)}, env)
                .exit_code,
            0);
  auto killed = env;
  killed.push_back(std::string("PODNS_TEST_KILL_POINT=") + GetParam());
  auto r = run_podns({"pod", "rm", name}, killed);
  ASSERT_EQ(r.exit_code, 128 + 9) << "kill point " << GetParam() << " not reached: " << r.err;
  auto gc = run_podns({"gc"}, env);
  EXPECT_EQ(gc.exit_code, 0) << gc.err;
  expect_clean_host(w, name);
}

INSTANTIATE_TEST_SUITE_P(KillPoints, PodRmCrash, ::testing::Values("rm.removing", "rm.deleted", "rm.unpinned"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (auto& c : n) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return n;
                         });

// gc's other duties: a pod whose pin vanished, a pin whose state vanished, a lease and a CNI cache
// entry without a pod.
TEST(PodGc, StateWithoutPinsAndPinsWithoutState) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("/usr/lib/cni/bridge", "containernetworking-plugins");
  PODNS_REQUIRE_TOOL("nft", "nftables");
  PodWorld w;
  auto env = w.cli_env();
  std::string nopin = test::unique_name("nopin"), nostate = test::unique_name("nostate");
  ASSERT_EQ(run_podns({"pod", "create", nopin}, env).exit_code, 0);
  ASSERT_EQ(run_podns({"pod", "create", nostate}, env).exit_code, 0);
  ASSERT_OK(remove_pin(w.env.paths.netns_dir + "/" + nopin, w.env.paths.netns_dir));
  // The state of `nostate` is lost (a deleted database row), its pins, lease and cache remain.
  {
    auto store = state::Store::open(w.env.paths.db_path());
    ASSERT_OK(store);
    ASSERT_OK(store->delete_pod(nostate));
  }
  auto gc = run_podns({"gc"}, env);
  EXPECT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_NE(gc.out.find("pod " + nopin + ": pin"), std::string::npos) << gc.out;
  EXPECT_NE(gc.out.find("/netns/" + nostate + " without a pod: removed"), std::string::npos) << gc.out;
  EXPECT_NE(gc.out.find("CNI attachment podns/podns-" + nostate + "/eth0 without a pod: deleted"), std::string::npos)
      << gc.out;
  expect_clean_host(w, nostate);
  // A second gc has nothing to do.
  auto again = run_podns({"gc"}, env);
  EXPECT_EQ(again.out, "");
}

TEST(PodGc, LeaseWithoutPodIsReleasedAndOthersAreKept) {
  PodWorld w;
  std::string dir = w.env.default_network.data_dir + "/podns";
  PodWorld::write_file(dir + "/10.89.0.9", "podns-vanished\r\neth0");
  PodWorld::write_file(dir + "/10.89.0.10", "some-other-runtime\r\neth0");
  auto report = gc(w.env);
  ASSERT_OK(report);
  EXPECT_FALSE(fs::exists(dir + "/10.89.0.9"));
  EXPECT_TRUE(fs::exists(dir + "/10.89.0.10"));  // not ours: never touched
  ASSERT_EQ(report->cleaned.size(), 1u);
  EXPECT_NE(report->cleaned[0].find("10.89.0.9"), std::string::npos);
}

}  // namespace
}  // namespace podns::pod
