// The pod verbs through the real CLI binary: output, --json, exit codes, restart (containerd
// #10363), 32 parallel creates and removes.
#include <filesystem>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "../pod/pod_fixture.hpp"
#include "podns/pin.hpp"

namespace podns::pod {
namespace {

using podns::test::PodWorld;
using podns::test::run;
using podns::test::run_podns;

#define REQUIRE_CNI()                                                       \
  PODNS_REQUIRE_ROOT();                                                     \
  PODNS_REQUIRE_TOOL("/usr/lib/cni/bridge", "containernetworking-plugins"); \
  PODNS_REQUIRE_TOOL("nft", "nftables")

nlohmann::json json_of(const test::CommandResult& r) {
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out << r.err;
  return j;
}

TEST(PodCli, CreateLsInspectOciSpecExecRm) {
  REQUIRE_CNI();
  PodWorld w;
  auto env = w.cli_env();
  int port = 32000 + getpid() % 1000;
  auto c = run_podns({"pod", "create", "web", "-p", fmt::format("127.0.0.1:{}:80", port), "--json"}, env);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  auto created = json_of(c);
  EXPECT_EQ(created["name"], "web");
  EXPECT_EQ(created["sandboxKey"], w.env.paths.netns_dir + "/web");

  auto ls = run_podns({"pod", "ls"}, env);
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_NE(ls.out.find("NAME"), std::string::npos);
  EXPECT_NE(ls.out.find("web"), std::string::npos);
  auto lsj = json_of(run_podns({"pod", "ls", "--json"}, env));
  ASSERT_EQ(lsj.size(), 1u);

  auto insp = run_podns({"pod", "inspect", "web"}, env);
  ASSERT_EQ(insp.exit_code, 0) << insp.err;
  EXPECT_NE(insp.out.find("sandbox key: " + w.env.paths.netns_dir + "/web"), std::string::npos) << insp.out;
  EXPECT_NE(insp.out.find(fmt::format("127.0.0.1:{}:80/tcp", port)), std::string::npos) << insp.out;
  auto inspj = json_of(run_podns({"pod", "inspect", "web", "--json"}, env));
  EXPECT_EQ(inspj, created);
  auto& net = inspj["networks"][0];
  EXPECT_EQ(net["interface"], "eth0");
  EXPECT_EQ(net["addresses"][0]["gateway"], w.address(1));
  EXPECT_EQ(net["portMappings"][0]["hostPort"], port);

  auto oci = json_of(run_podns({"pod", "oci-spec", "web"}, env));
  bool has_net = false;
  for (auto& n : oci["linux"]["namespaces"]) has_net |= n["type"] == "network" && n["path"] == created["sandboxKey"];
  EXPECT_TRUE(has_net) << oci.dump();

  // exec: the command's exit code comes back; it runs in the pod's netns (eth0 exists there only).
  auto ex = run_podns({"pod", "exec", "web", "--", "sh", "-c", "cat /proc/net/dev | grep -c eth0; exit 3"}, env);
  EXPECT_EQ(ex.exit_code, 3) << ex.err;
  EXPECT_EQ(ex.out, "1\n");

  auto rm = run_podns({"pod", "rm", "web"}, env);
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_EQ(rm.out, "web\n");
  EXPECT_EQ(json_of(run_podns({"pod", "ls", "--json"}, env)).size(), 0u);
}

TEST(PodCli, ErrorsAreOneLineWithExitCodes) {
  REQUIRE_CNI();
  PodWorld w;
  auto env = w.cli_env();
  auto r = run_podns({"pod", "inspect", "ghost"}, env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "podns: inspect pod ghost: no such pod: not found\n");
  r = run_podns({"pod", "rm", "ghost"}, env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(run_podns({"pod", "rm", "--force", "ghost"}, env).exit_code, 0);
  r = run_podns({"pod", "create", "x", "-p", "99999:80"}, env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not a port"), std::string::npos) << r.err;
  r = run_podns({"pod", "create", "x", "--network", "nonet"}, env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "podns: create pod x: network nonet (looked in " + w.env.cni_conf_dir + "): not found\n");
  EXPECT_EQ(run_podns({"pod", "create"}, env).exit_code, 2);  // usage
  EXPECT_EQ(run_podns({"pod", "ls", "--json"}, env).out, "[]\n");
}

// containerd #10363 lost pod IPs across a restart. Every podns command is a fresh process, so
// each one is a restart; a SIGKILLed podns in between must not disturb the other pods either.
TEST(PodCli, StateSurvivesRestartsAndCrashes) {
  REQUIRE_CNI();
  PodWorld w;
  auto env = w.cli_env();
  ASSERT_EQ(run_podns({"pod", "create", "keep"}, env).exit_code, 0);
  auto before = json_of(run_podns({"pod", "inspect", "keep", "--json"}, env));
  auto env_kill = env;
  env_kill.push_back("PODNS_TEST_KILL_POINT=create.attached");
  EXPECT_EQ(run_podns({"pod", "create", "crashy"}, env_kill).exit_code, 128 + 9);
  auto after = json_of(run_podns({"pod", "inspect", "keep", "--json"}, env));
  EXPECT_EQ(after, before);
  // The recorded address is the one the kernel has.
  std::string addr = test::strip_prefix(after["networks"][0]["addresses"][0]["address"]);
  auto ip = run_podns({"pod", "exec", "keep", "--", "ip", "-4", "-o", "addr", "show", "eth0"}, env);
  EXPECT_NE(ip.out.find(addr + "/"), std::string::npos) << ip.out;
  // The next mutating command rolled the crashed create back; gc finds nothing more.
  ASSERT_EQ(run_podns({"pod", "create", "next"}, env).exit_code, 0);
  EXPECT_EQ(run_podns({"pod", "inspect", "crashy"}, env).exit_code, 1);
  auto gc = json_of(run_podns({"gc", "--json"}, env));
  EXPECT_TRUE(gc["cleaned"].empty()) << gc.dump();
  EXPECT_EQ(json_of(run_podns({"pod", "inspect", "keep", "--json"}, env)), before);
  ASSERT_EQ(run_podns({"pod", "rm", "keep", "next"}, env).exit_code, 0);
}

TEST(PodCli, ThirtyTwoParallelCreatesAndRemoves) {
  REQUIRE_CNI();
  PodWorld w;
  auto env = w.cli_env();
  constexpr int kPods = 32;
  std::vector<test::CommandResult> results(kPods);
  auto all = [&](auto&& argv_of) {
    std::vector<std::thread> threads;
    for (int i = 0; i < kPods; ++i)
      threads.emplace_back([&, i] { results[i] = run_podns(argv_of(i), env); });
    for (auto& t : threads) t.join();
  };
  all([](int i) { return std::vector<std::string>{"pod", "create", fmt::format("p{}", i)}; });
  for (int i = 0; i < kPods; ++i) EXPECT_EQ(results[i].exit_code, 0) << "p" << i << ": " << results[i].err;
  auto pods = json_of(run_podns({"pod", "ls", "--json"}, env));
  ASSERT_EQ(pods.size(), static_cast<size_t>(kPods));
  std::set<std::string> ips;
  for (auto& p : pods) {
    EXPECT_EQ(p["phase"], "ready");
    ips.insert(p["networks"][0]["addresses"][0]["address"].get<std::string>());
  }
  EXPECT_EQ(ips.size(), static_cast<size_t>(kPods)) << "addresses must be distinct";
  all([](int i) { return std::vector<std::string>{"pod", "rm", fmt::format("p{}", i)}; });
  for (int i = 0; i < kPods; ++i) EXPECT_EQ(results[i].exit_code, 0) << "p" << i << ": " << results[i].err;
  EXPECT_EQ(json_of(run_podns({"pod", "ls", "--json"}, env)).size(), 0u);
  auto pins = list_pins(w.env.paths);
  ASSERT_OK(pins);
  EXPECT_TRUE(pins->empty());
}

}  // namespace
}  // namespace podns::pod
