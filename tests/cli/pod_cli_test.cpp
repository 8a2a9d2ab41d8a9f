// The pod verbs through the real CLI binary: output, --json, exit codes, restart (containerd
// #10363), 32 parallel creates and removes.
#include <signal.h>

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

nlohmann::json json_of(const test::CommandResult& r) {
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out << r.err;
  return j;
}

TEST(PodCli, CreateLsInspectOciSpecExecRm) {
  PODNS_REQUIRE_CNI();
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
  EXPECT_NE(insp.out.find("  live:      UP mtu 1500 "), std::string::npos) << insp.out;
  auto inspj = json_of(run_podns({"pod", "inspect", "web", "--json"}, env));
  EXPECT_EQ(inspj["live"]["netns"], "present");
  EXPECT_EQ(inspj["networks"][0]["live"]["present"], true);
  EXPECT_EQ(inspj["networks"][0]["live"]["mac"], created["networks"][0]["mac"]);
  auto stored = inspj;  // without the live members: what create printed
  stored.erase("live");
  stored["networks"][0].erase("live");
  EXPECT_EQ(stored, created);
  EXPECT_EQ(lsj[0], created);  // ls prints the same, from the summary columns
  auto& net = inspj["networks"][0];
  EXPECT_EQ(net["interface"], "eth0");
  EXPECT_EQ(net["addresses"][0]["gateway"], w.address(1));
  EXPECT_EQ(net["portMappings"][0]["hostPort"], port);

  auto oci = json_of(run_podns({"pod", "oci-spec", "web"}, env));
  bool has_net = false;
  for (auto& n : oci["linux"]["namespaces"]) has_net |= n["type"] == "network" && n["path"] == created["sandboxKey"];
  EXPECT_TRUE(has_net) << oci.dump();

  // exec: the command's exit code comes back; it runs in the pod's netns (eth0 exists there only).
  // As `ip netns exec`: the pod's netns, and its sysfs on /sys.
  auto ex = run_podns(
      {"pod", "exec", "web", "--", "sh", "-c", "grep -c eth0 /proc/net/dev; ls /sys/class/net | grep -c eth0; exit 3"},
      env);
  EXPECT_EQ(ex.exit_code, 3) << ex.err;
  EXPECT_EQ(ex.out, "1\n1\n");

  auto rm = run_podns({"pod", "rm", "web"}, env);
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_EQ(rm.out, "web\n");
  EXPECT_EQ(json_of(run_podns({"pod", "ls", "--json"}, env)).size(), 0u);
}

// The live half of inspect, through the binary: an interface deleted behind podns's back, then the
// whole netns; the pod is still removable.
TEST(PodCli, InspectShowsWhatTheKernelHasNow) {
  PODNS_REQUIRE_CNI();
  PodWorld w;
  auto env = w.cli_env();
  ASSERT_EQ(run_podns({"pod", "create", "lv"}, env).exit_code, 0);
  std::string netns = w.env.paths.netns_dir + "/lv";
  ASSERT_EQ(run({"nsenter", "--net=" + netns, "ip", "link", "del", "eth0"}).exit_code, 0);
  auto text = run_podns({"pod", "inspect", "lv"}, env);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("  live:      eth0 no longer exists in the pod's netns"), std::string::npos) << text.out;
  auto j = json_of(run_podns({"pod", "inspect", "lv", "--json"}, env));
  EXPECT_EQ(j["networks"][0]["live"]["present"], false);
  EXPECT_FALSE(j["networks"][0]["addresses"].empty());  // CNI's report stays next to it

  ASSERT_OK(remove_pin(netns, w.env.paths.netns_dir));  // `ip netns del lv`
  text = run_podns({"pod", "inspect", "lv"}, env);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("sandbox key: " + netns + " (gone: the network namespace no longer exists"),
            std::string::npos)
      << text.out;
  j = json_of(run_podns({"pod", "inspect", "lv", "--json"}, env));
  EXPECT_EQ(j["live"]["netns"], "gone");
  auto rm = run_podns({"pod", "rm", "lv"}, env);
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_EQ(json_of(run_podns({"pod", "ls", "--json"}, env)).size(), 0u);
}

// A rootless-networked pod (root may use slirp4netns too) whose helper dies: inspect says so, with
// the end of its log, and rm still cleans up.
TEST(PodCli, InspectSaysWhenTheHelperDied) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("slirp4netns", "slirp4netns");
  PodWorld w;
  auto env = w.cli_env();
  std::string name = test::unique_name("hd");
  auto c = run_podns({"pod", "create", name, "--rootless-net", "slirp4netns", "--json"}, env);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  auto created = json_of(c);
  ASSERT_EQ(created["helpers"].size(), 1u) << c.out;
  int pid = created["helpers"][0]["pid"];
  auto before = json_of(run_podns({"pod", "inspect", name, "--json"}, env));
  EXPECT_EQ(before["helpers"][0]["running"], true) << before.dump();
  auto text = run_podns({"pod", "inspect", name}, env);
  EXPECT_NE(text.out.find(fmt::format("helper:      slirp4netns pid {} running", pid)), std::string::npos) << text.out;

  // The helper is ours (started by our pod create); its parent, the podns process, is gone, so
  // init reaps it.
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  for (int i = 0; i < 200 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto after = json_of(run_podns({"pod", "inspect", name, "--json"}, env));
  EXPECT_EQ(after["helpers"][0]["running"], false) << after.dump();
  text = run_podns({"pod", "inspect", name}, env);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find(fmt::format("helper:      slirp4netns pid {} not running (died)", pid)), std::string::npos)
      << text.out;
  if (after["helpers"][0].contains("log")) {
    EXPECT_NE(text.out.find("  last log:\n    "), std::string::npos) << text.out;
  }
  auto rm = run_podns({"pod", "rm", name}, env);
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_EQ(json_of(run_podns({"pod", "ls", "--json"}, env)).size(), 0u);
}

TEST(PodCli, ErrorsAreOneLineWithExitCodes) {
  PODNS_REQUIRE_CNI();
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
  EXPECT_EQ(r.err, "podns: create pod x: network nonet: no podns network and no CNI network of that name (in " +
                       w.env.cni_conf_dir + "): not found\n");
  EXPECT_EQ(run_podns({"pod", "create"}, env).exit_code, 2);  // usage
  EXPECT_EQ(run_podns({"pod", "ls", "--json"}, env).out, "[]\n");
}

// containerd #10363 lost pod IPs across a restart. Every podns command is a fresh process, so
// each one is a restart; a SIGKILLed podns in between must not disturb the other pods either.
TEST(PodCli, StateSurvivesRestartsAndCrashes) {
  PODNS_REQUIRE_CNI();
  PodWorld w;
  auto env = w.cli_env();
  ASSERT_EQ(run_podns({"pod", "create", "keep"}, env).exit_code, 0);
  auto before = json_of(run_podns({"pod", "inspect", "keep", "--json"}, env));
  auto env_kill = env;
  env_kill.push_back("PODNS_TEST_KILL_POINT=network.attach-configured");
  EXPECT_EQ(test::run_podns_faulty({"pod", "create", "crashy"}, env_kill).exit_code, 128 + 9);
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
  PODNS_REQUIRE_CNI();
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
