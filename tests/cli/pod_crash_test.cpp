// SIGKILL `pod create` and `pod rm` at every kill point (podns-faulty, the CLI with a fault handler
// that honours PODNS_TEST_KILL_POINT; src/sys/fault.hpp), then
// prove that `podns gc` leaves zero pins, mounts, veths, iptables/nft rules, CNI cache entries,
// host-local leases and processes. The leak check after each case covers mounts, host interfaces,
// nft rules and processes on top of the asserts here.
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "../pod/pod_fixture.hpp"
#include "podns/fw/firewall.hpp"
#include "podns/pin.hpp"
#include "podns/state/store.hpp"

namespace podns::pod {
namespace {

using podns::test::PodWorld;
using podns::test::run;
using podns::test::run_podns;
namespace fs = std::filesystem;

void expect_clean_host(PodWorld& w, const std::string& name, const std::string& bridge) {
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
  // The kernel destroys a dropped netns's veth asynchronously: give it a moment.
  auto links = run({"ip", "-o", "link", "show", "master", bridge});
  for (int i = 0; i < 40 && !links.out.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    links = run({"ip", "-o", "link", "show", "master", bridge});
  }
  EXPECT_EQ(links.out, "") << links.out;
  auto rules = run({"iptables-save"});
  EXPECT_EQ(rules.out.find(container_id(name)), std::string::npos) << "iptables rules of " << name << " left";
  // No lease and no port forward of the native network.
  auto store = state::Store::open(w.env.paths.db_path());
  ASSERT_OK(store);
  auto leases = store->all_leases();
  ASSERT_OK(leases);
  for (const auto& l : *leases) ADD_FAILURE() << "lease left: " << l.address << " of " << l.pod;
  auto fw = fw::Firewall::open(w.env.nft_table);
  ASSERT_OK(fw);
  auto installed = fw->installed();
  ASSERT_OK(installed);
  for (const auto& f : installed->forwards) ADD_FAILURE() << "port forward left: " << f.host_port << " -> " << f.pod_ip;
}

// A pod with a published port on `network` ("" : the default, native), killed at `point`.
void create_killed(PodWorld& w, const std::string& name, const std::string& network, const char* point, int port) {
  auto killed = w.cli_env();
  killed.push_back(std::string("PODNS_TEST_KILL_POINT=") + point);
  std::vector<std::string> args = {"pod", "create", name, "-p", fmt::format("127.0.0.1:{}:80", port)};
  if (!network.empty()) args.insert(args.end(), {"--network", network});
  auto r = test::run_podns_faulty(args, killed);
  ASSERT_EQ(r.exit_code, 128 + 9) << "kill point " << point << " not reached: " << r.err;
}

std::string param_name(const ::testing::TestParamInfo<const char*>& info) {
  std::string n = info.param;
  for (auto& c : n) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return n;
}

class PodCrash : public ::testing::TestWithParam<const char*> {};

TEST_P(PodCrash, CreateKilledThenGcLeavesNothing) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("nft", "nftables");
  PodWorld w;
  // Unique names: the iptables rules of concurrently running tests share one host.
  std::string name = test::unique_name("crash");
  create_killed(w, name, "", GetParam(), 40000 + getpid() % 1000);
  auto gc = run_podns({"gc"}, w.cli_env());
  EXPECT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_NE(gc.out.find("pod " + name), std::string::npos) << gc.out;
  expect_clean_host(w, name, w.bridge());
}

// The native default network's steps and the pod's own.
INSTANTIATE_TEST_SUITE_P(KillPoints, PodCrash,
                         ::testing::Values("create.recorded", "create.pinned",
                                           "network.attach-intent", "network.attach-veth", "network.attach-configured",
                                           "network.attach-forwarded", "create.before-ready"),
                         param_name);

class PodCrashCni : public ::testing::TestWithParam<const char*> {};

TEST_P(PodCrashCni, CreateKilledThenGcLeavesNothing) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("/usr/lib/cni/bridge", "containernetworking-plugins");
  PODNS_REQUIRE_TOOL("nft", "nftables");
  PodWorld w;
  w.write_bridge_network("cninet", 201);
  std::string name = test::unique_name("crash");
  create_killed(w, name, "cninet", GetParam(), 40000 + getpid() % 1000);
  auto gc = run_podns({"gc"}, w.cli_env());
  EXPECT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_NE(gc.out.find("pod " + name), std::string::npos) << gc.out;
  expect_clean_host(w, name, w.extra_bridges.back());
}

INSTANTIATE_TEST_SUITE_P(KillPoints, PodCrashCni, ::testing::Values("create.attach-intent", "create.attached"),
                         param_name);

class PodRmCrash : public ::testing::TestWithParam<std::pair<const char*, bool>> {};

TEST_P(PodRmCrash, RemoveKilledThenGcLeavesNothing) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("/usr/lib/cni/bridge", "containernetworking-plugins");
  PODNS_REQUIRE_TOOL("nft", "nftables");
  auto [point, cni] = GetParam();
  PodWorld w;
  auto env = w.cli_env();
  std::string bridge = w.bridge();
  std::vector<std::string> args = {"pod", "create", "", "-p", fmt::format("127.0.0.1:{}:80", 41000 + getpid() % 1000)};
  if (cni) {
    w.write_bridge_network("cninet", 202);
    bridge = w.extra_bridges.back();
    args.insert(args.end(), {"--network", "cninet"});
  }
  std::string name = test::unique_name("crash");
  args[2] = name;
  ASSERT_EQ(run_podns(args, env).exit_code, 0);
  auto killed = env;
  killed.push_back(std::string("PODNS_TEST_KILL_POINT=") + point);
  auto r = test::run_podns_faulty({"pod", "rm", name}, killed);
  ASSERT_EQ(r.exit_code, 128 + 9) << "kill point " << point << " not reached: " << r.err;
  auto gc = run_podns({"gc"}, env);
  EXPECT_EQ(gc.exit_code, 0) << gc.err;
  expect_clean_host(w, name, bridge);
}

INSTANTIATE_TEST_SUITE_P(KillPoints, PodRmCrash,
                         ::testing::Values(std::pair{"rm.removing", false}, std::pair{"rm.detached", false},
                                           std::pair{"rm.unpinned", false}, std::pair{"rm.removing", true},
                                           std::pair{"rm.deleted", true}, std::pair{"rm.unpinned", true}),
                         [](const auto& info) {
                           std::string n = std::string(info.param.first) + (info.param.second ? "_cni" : "_native");
                           for (auto& c : n) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return n;
                         });

// The installed CLI has no fault handler: the variable the crash tests give podns-faulty does
// nothing to it, and the binary does not even hold its name.
TEST(ShippedCli, HasNoKillPoints) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("nft", "nftables");
  PodWorld w;
  auto env = w.cli_env();
  env.push_back("PODNS_TEST_KILL_POINT=create.recorded");
  std::string name = test::unique_name("ship");
  auto r = run_podns({"pod", "create", name}, env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(run_podns({"pod", "rm", name}, w.cli_env()).exit_code, 0);
  // The binary (with debug info, a few hundred MB) in chunks that overlap by the name's length.
  const std::string needle = "PODNS_TEST_KILL_POINT";
  std::ifstream bin(test::podns_cli(), std::ios::binary);
  ASSERT_TRUE(bin.good());
  std::string window;
  std::vector<char> chunk(1 << 20);
  bool found = false;
  while (!found) {
    bin.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    if (bin.gcount() <= 0) break;
    window.append(chunk.data(), static_cast<size_t>(bin.gcount()));
    found = window.find(needle) != std::string::npos;
    window.erase(0, window.size() - std::min(window.size(), needle.size() - 1));
  }
  EXPECT_FALSE(found) << test::podns_cli() << " contains " << needle;
}

// gc's other duties: a pod whose pin vanished, a pin whose state vanished, a lease and a CNI cache
// entry without a pod.
TEST(PodGc, StateWithoutPinsAndPinsWithoutState) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("/usr/lib/cni/bridge", "containernetworking-plugins");
  PODNS_REQUIRE_TOOL("nft", "nftables");
  PodWorld w;
  auto env = w.cli_env();
  w.write_bridge_network("cninet", 203);
  std::string nopin = test::unique_name("nopin"), nostate = test::unique_name("nostate");
  ASSERT_EQ(run_podns({"pod", "create", nopin, "--network", "cninet"}, env).exit_code, 0);
  ASSERT_EQ(run_podns({"pod", "create", nostate, "--network", "cninet"}, env).exit_code, 0);
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
  EXPECT_NE(gc.out.find("CNI attachment cninet/podns-" + nostate + "/eth0 without a pod: deleted"), std::string::npos)
      << gc.out;
  expect_clean_host(w, nostate, w.extra_bridges.back());
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
