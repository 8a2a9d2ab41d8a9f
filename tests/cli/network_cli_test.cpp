// `podns network ...` through the CLI, and 32 `podns pod create` processes at once on one native
// network: distinct addresses, distinct veths, nothing left after rm.
#include <sys/wait.h>

#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../pod/pod_fixture.hpp"

namespace podns::pod {
namespace {

using podns::test::PodWorld;
using podns::test::run;
using podns::test::run_podns;

std::string subnet(int k) { return fmt::format("10.{}.{}.0/24", 120 + k, ::getpid() % 256); }

TEST(NetworkCli, CreateLsInspectReloadRm) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("nft", "nftables");
  PodWorld w;
  auto env = w.cli_env();
  const std::string bridge = test::unique_name("pb");
  auto c = run_podns({"network", "create", "web", "--subnet", subnet(0), "--bridge", bridge, "--json"}, env);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  auto j = nlohmann::json::parse(c.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << c.out;
  EXPECT_EQ(j["bridge"], bridge);
  EXPECT_EQ(j["subnets"][0]["subnet"], subnet(0));
  EXPECT_EQ(j["subnets"][0]["gateway"], fmt::format("10.120.{}.1", ::getpid() % 256));

  // A CNI conflist shows beside it.
  w.write_bridge_network("cninet", 204);
  auto ls = run_podns({"network", "ls"}, env);
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_NE(ls.out.find("DRIVER"), std::string::npos);
  EXPECT_NE(ls.out.find("web"), std::string::npos);
  EXPECT_NE(ls.out.find("cni"), std::string::npos) << ls.out;
  auto lsj = nlohmann::json::parse(run_podns({"network", "ls", "--json"}, env).out, nullptr, false);
  ASSERT_TRUE(lsj.is_array());
  EXPECT_EQ(lsj.size(), 2u);

  ASSERT_EQ(run_podns({"pod", "create", "p1", "--network", "web", "-p", "127.0.0.1:18123:80"}, env).exit_code, 0);
  auto insp = run_podns({"network", "inspect", "web"}, env);
  ASSERT_EQ(insp.exit_code, 0) << insp.err;
  EXPECT_NE(insp.out.find("firewall:  ok (1 port forward)"), std::string::npos) << insp.out;
  EXPECT_NE(insp.out.find("pod:       p1 eth0"), std::string::npos) << insp.out;

  ASSERT_EQ(run({"nft", "delete", "table", "inet", w.env.nft_table}).exit_code, 0);
  insp = run_podns({"network", "inspect", "web"}, env);
  EXPECT_NE(insp.out.find("MISSING"), std::string::npos) << insp.out;
  auto reload = run_podns({"network", "reload"}, env);
  ASSERT_EQ(reload.exit_code, 0) << reload.err;
  EXPECT_NE(reload.out.find("1 port forward"), std::string::npos) << reload.out;
  insp = run_podns({"network", "inspect", "web", "--json"}, env);
  auto ij = nlohmann::json::parse(insp.out, nullptr, false);
  ASSERT_TRUE(ij.is_object()) << insp.out;
  EXPECT_EQ(ij["live"]["firewall"]["forwardsMissing"], 0);
  EXPECT_EQ(ij["pods"][0]["pod"], "p1");

  auto busy = run_podns({"network", "rm", "web"}, env);
  EXPECT_EQ(busy.exit_code, 1);
  EXPECT_NE(busy.err.find("used by pod p1"), std::string::npos) << busy.err;
  ASSERT_EQ(run_podns({"pod", "rm", "p1"}, env).exit_code, 0);
  auto rm = run_podns({"network", "rm", "web"}, env);
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_NE(run({"ip", "link", "show", bridge}).exit_code, 0);
  auto missing = run_podns({"network", "rm", "web"}, env);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no such podns network"), std::string::npos) << missing.err;
}

TEST(NetworkCli, UsageErrorsAndBadInput) {
  PODNS_REQUIRE_ROOT();
  PodWorld w;
  auto env = w.cli_env();
  EXPECT_EQ(run_podns({"network", "create"}, env).exit_code, 2);
  auto bad = run_podns({"network", "create", "x", "--subnet", "10.1.2.3/24"}, env);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("podns: "), std::string::npos);
  auto gw = run_podns({"network", "create", "x", "--gateway", "10.1.2.1"}, env);
  EXPECT_EQ(gw.exit_code, 1);
  EXPECT_NE(gw.err.find("--gateway"), std::string::npos) << gw.err;
  auto nope = run_podns({"network", "inspect", "nope"}, env);
  EXPECT_EQ(nope.exit_code, 1);
  EXPECT_NE(nope.err.find("no such podns network"), std::string::npos);
  auto proto = run_podns({"pod", "create", "x", "-p", "80:80/icmp"}, env);
  EXPECT_EQ(proto.exit_code, 1);
  EXPECT_NE(proto.err.find("icmp"), std::string::npos);
}

// 32 processes create a pod each on one network at the same time.
TEST(NetworkCli, ThirtyTwoParallelCreatesGetDistinctAddressesAndVeths) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("nft", "nftables");
  PodWorld w;
  auto env = w.cli_env();
  ASSERT_EQ(run_podns({"network", "create", "par", "--subnet", subnet(1), "--bridge", test::unique_name("pb")}, env)
                .exit_code,
            0);
  constexpr int kPods = 32;
  std::vector<test::CommandResult> results(kPods);
  std::vector<std::thread> threads;
  for (int i = 0; i < kPods; ++i) {
    threads.emplace_back([&, i] {
      results[i] = run_podns({"pod", "create", fmt::format("par{}", i), "--network", "par", "-p",
                              fmt::format("{}:80", 30000 + (::getpid() % 1000) * 32 + i), "--json"},
                             env);
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> addresses, macs;
  for (int i = 0; i < kPods; ++i) {
    ASSERT_EQ(results[i].exit_code, 0) << "pod " << i << ": " << results[i].err;
    auto j = nlohmann::json::parse(results[i].out, nullptr, false);
    ASSERT_TRUE(j.is_object());
    addresses.insert(j["networks"][0]["addresses"][0]["address"].get<std::string>());
    macs.insert(j["networks"][0]["mac"].get<std::string>());
  }
  EXPECT_EQ(addresses.size(), static_cast<size_t>(kPods));
  EXPECT_EQ(macs.size(), static_cast<size_t>(kPods));
  auto insp = nlohmann::json::parse(run_podns({"network", "inspect", "par", "--json"}, env).out, nullptr, false);
  ASSERT_TRUE(insp.is_object());
  std::set<std::string> veths;
  for (const auto& m : insp["pods"]) veths.insert(m["hostInterface"].get<std::string>());
  EXPECT_EQ(veths.size(), static_cast<size_t>(kPods));
  EXPECT_EQ(insp["live"]["firewall"]["forwardsExpected"], kPods);
  EXPECT_EQ(insp["live"]["firewall"]["forwardsMissing"], 0);
  std::vector<std::string> rm = {"pod", "rm"};
  for (int i = 0; i < kPods; ++i) rm.push_back(fmt::format("par{}", i));
  auto r = run_podns(rm, env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  insp = nlohmann::json::parse(run_podns({"network", "inspect", "par", "--json"}, env).out, nullptr, false);
  EXPECT_TRUE(insp["pods"].empty());
}

// Removing a pod's port forwards leaves the kernel freeing them after an RCU grace period, and the
// last close of the socket that removed them waits for that: `pod rm` hands it to a podns-close
// process and returns. With this test as the subreaper, the closer comes back here to be seen.
TEST(NetworkCli, PodRmHandsTheFirewallSocketsLastCloseToACloser) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("nft", "nftables");
  PodWorld w;
  auto env = w.cli_env();
  ASSERT_EQ(run_podns({"network", "create", "hand", "--subnet", subnet(2), "--bridge", test::unique_name("pb")}, env)
                .exit_code,
            0);
  ASSERT_EQ(run_podns({"pod", "create", "fwd", "--network", "hand", "-p", "127.0.0.1:18125:80"}, env).exit_code, 0);
  ASSERT_EQ(run_podns({"pod", "create", "plain", "--network", "hand"}, env).exit_code, 0);
  test::ChildSubreaper subreaper;
  ASSERT_TRUE(subreaper.ok());

  // No forward removed, nothing to wait for: no closer.
  ASSERT_EQ(run_podns({"pod", "rm", "plain"}, env).exit_code, 0);
  EXPECT_EQ(test::reap_child_named("podns-close", 0), -1);

  auto rm = run_podns({"pod", "rm", "fwd"}, env);
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  int status = test::reap_child_named("podns-close", 10'000);
  ASSERT_NE(status, -1) << "pod rm started no closer";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  // Everything the rm released is free at once: the name (its lock), the host port.
  auto again = run_podns({"pod", "create", "fwd", "--network", "hand", "-p", "127.0.0.1:18125:80"}, env);
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(run_podns({"pod", "rm", "fwd"}, env).exit_code, 0);
  EXPECT_NE(test::reap_child_named("podns-close", 10'000), -1);
  EXPECT_EQ(run_podns({"network", "rm", "hand"}, env).exit_code, 0);
}

}  // namespace
}  // namespace podns::pod
