// podns cni add|del|check|status|gc|version|ls end to end through the CLI binary, with fake plugins
// (and the real loopback plugin on a pinned netns): cnitool's environment variables, JSON output,
// one-line errors and exit codes.
#include <gtest/gtest.h>

#include "../cni/cni_test_util.hpp"
#include "podns/cni/runtime.hpp"

namespace podns::cni {
namespace {

using nlohmann::json;
using podns::test::run_podns;
using podns::test::TempDir;

struct CniCli : ::testing::Test {
  void SetUp() override {
    PODNS_REQUIRE_TOOL("/usr/bin/python3", "python3");
    for (auto t : {"a", "b", "c"}) bin.install(t);
    bin.install("old", {"0.4.0", "1.0.0"});
    write("10-fnet.conflist", "1.0.0", "fnet", {"a", "c"});
  }
  void write(const std::string& file, const std::string& version, const std::string& name,
             const std::vector<std::string>& types, json extra = json::object()) {
    json doc = {{"cniVersion", version}, {"name", name}, {"plugins", json::array()}};
    for (auto& t : types) {
      json fake = {{"log", bin.log()}, {"ip", "10.77.0.9/24"}};
      fake.update(extra);
      json p = {{"type", t}, {"fake", fake}};
      if (t == "c") p["capabilities"] = {{"portMappings", true}};
      doc["plugins"].push_back(p);
    }
    test::write_text(conf / file, doc.dump());
  }
  std::vector<std::string> env(std::vector<std::string> extra = {}) {
    std::vector<std::string> e = {"NETCONFPATH=" + conf.path(), "CNI_PATH=" + bin.path(), "PODNS_STATE_DIR=" + state.path(),
                                  "PODNS_RUN_DIR=" + state.path() + "/run"};
    e.insert(e.end(), extra.begin(), extra.end());
    return e;
  }
  test::FakeBin bin;
  TempDir conf{"cniconf"}, state{"cnistate"};
};

TEST_F(CniCli, AddPrintsResultHonoursCnitoolEnvAndDelCleansUp) {
  const std::string netns = "/run/netns/cli-test-nonexistent";
  auto e = env({"CNI_IFNAME=net1", "CNI_ARGS=IgnoreUnknown=1;POD=web",
                R"(CAP_ARGS={"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]})"});
  auto add = run_podns({"cni", "add", "fnet", netns}, e);
  ASSERT_EQ(add.exit_code, 0) << add.err;
  auto result = json::parse(add.out);
  EXPECT_EQ(result["cniVersion"], "1.0.0");
  EXPECT_EQ(result["interfaces"][1]["name"], "c-net1");
  const std::string cid = cnitool_container_id(netns);
  EXPECT_EQ(cid.size(), std::string("cnitool-").size() + 20);
  const std::string entry = state / ("cni/results/fnet-" + cid + "-net1");
  EXPECT_TRUE(std::filesystem::exists(entry)) << entry;
  auto calls = bin.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0]["env"]["CNI_ARGS"], "IgnoreUnknown=1;POD=web");
  EXPECT_EQ(calls[0]["env"]["CNI_CONTAINERID"], cid);
  EXPECT_EQ(calls[0]["env"]["CNI_NETNS"], netns);
  EXPECT_FALSE(calls[0]["conf"].contains("runtimeConfig"));
  EXPECT_EQ(calls[1]["conf"]["runtimeConfig"]["portMappings"][0]["hostPort"], 8080);

  auto check = run_podns({"cni", "check", "fnet", netns}, e);
  EXPECT_EQ(check.exit_code, 0) << check.err;
  auto del = run_podns({"cni", "del", "fnet", netns}, e);
  EXPECT_EQ(del.exit_code, 0) << del.err;
  EXPECT_FALSE(std::filesystem::exists(entry));
  EXPECT_EQ(bin.calls().back()["command"], "DEL");
  EXPECT_EQ(bin.calls().back()["type"], "a");  // reverse order
}

TEST_F(CniCli, CnitoolContainerIdIsSha512OfTheNetnsPath) {
  // printf '/var/run/netns/test' | sha512sum | cut -c1-20
  EXPECT_EQ(cnitool_container_id("/var/run/netns/test"), "cnitool-7b8a61d5d8e94d07cbe4");
}

TEST_F(CniCli, NetnsNameResolvesInThePinDirAndFlagsOverrideEnv) {
  auto add = run_podns({"cni", "add", "fnet", "mypod", "--container-id", "c1", "--ifname", "eth7", "--args", "X=1"},
                       env({"CNI_IFNAME=net1", "CNI_ARGS=Y=2"}));
  ASSERT_EQ(add.exit_code, 0) << add.err;
  auto calls = bin.calls();
  EXPECT_EQ(calls[0]["env"]["CNI_NETNS"], state.path() + "/run/netns/mypod");
  EXPECT_EQ(calls[0]["env"]["CNI_IFNAME"], "eth7");
  EXPECT_EQ(calls[0]["env"]["CNI_ARGS"], "X=1");
  EXPECT_EQ(calls[0]["env"]["CNI_CONTAINERID"], "c1");
  auto del = run_podns({"cni", "del", "fnet", "--container-id", "c1", "--ifname", "eth7"}, env());
  EXPECT_EQ(del.exit_code, 0) << del.err;
  // The cached netns came back for the DEL without NETNS.
  EXPECT_EQ(bin.calls().back()["env"]["CNI_NETNS"], state.path() + "/run/netns/mypod");
}

TEST_F(CniCli, ErrorsAreOneLineWithExitCodes) {
  auto missing = run_podns({"cni", "add", "nosuch", "/x"}, env());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err.rfind("podns: ", 0), 0u) << missing.err;
  EXPECT_NE(missing.err.find("network \"nosuch\""), std::string::npos) << missing.err;
  EXPECT_EQ(std::count(missing.err.begin(), missing.err.end(), '\n'), 1);

  auto usage = run_podns({"cni", "add"}, env());
  EXPECT_EQ(usage.exit_code, 2);

  auto caps = run_podns({"cni", "add", "fnet", "/x"}, env({"CAP_ARGS={broken"}));
  EXPECT_EQ(caps.exit_code, 1);
  EXPECT_NE(caps.err.find("CAP_ARGS"), std::string::npos) << caps.err;
  auto args = run_podns({"cni", "add", "fnet", "/x"}, env({"CNI_ARGS=novalue"}));
  EXPECT_EQ(args.exit_code, 1);
  EXPECT_NE(args.err.find("CNI_ARGS: \"novalue\" is not KEY=VALUE"), std::string::npos) << args.err;
  auto badns = run_podns({"cni", "add", "fnet", "../evil"}, env());
  EXPECT_EQ(badns.exit_code, 1);
  auto badif = run_podns({"cni", "add", "fnet", "/x", "--ifname", "much-too-long-ifname"}, env());
  EXPECT_EQ(badif.exit_code, 1);
  EXPECT_NE(badif.err.find("interface name"), std::string::npos);
  EXPECT_TRUE(bin.calls().empty());

  write("20-failing.conflist", "1.0.0", "failing", {"a", "b"},
        {{"fail", {{"ADD", {{"code", 7}, {"msg", "bad ipam"}}}}}});
  auto failed = run_podns({"cni", "add", "failing", "/x"}, env());
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_NE(failed.err.find("plugin a (ADD): exit status 1: CNI error 7 (invalid network config): bad ipam"),
            std::string::npos)
      << failed.err;
  EXPECT_TRUE(failed.out.empty());
}

TEST_F(CniCli, VersionAndLsSpeakJson) {
  write("30-mixed.conflist", "1.0.0", "mixed", {"a", "old"});
  auto v = run_podns({"cni", "version", "mixed", "--json"}, env());
  ASSERT_EQ(v.exit_code, 0) << v.err;
  auto j = json::parse(v.out);
  EXPECT_EQ(j["network"], "mixed");
  ASSERT_EQ(j["plugins"].size(), 2u);
  EXPECT_EQ(j["plugins"][1]["supportedVersions"], json::parse(R"(["0.4.0","1.0.0"])"));
  auto text = run_podns({"cni", "version", "mixed"}, env());
  EXPECT_NE(text.out.find("old"), std::string::npos);
  auto ls = run_podns({"cni", "ls", "--json"}, env());
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  auto l = json::parse(ls.out);
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0]["name"], "fnet");
  EXPECT_EQ(l[1]["plugins"], json::parse(R"(["a","old"])"));
}

TEST_F(CniCli, GcKeepsValidAttachmentsAndStatusSkipsOldPlugins) {
  write("40-new.conflist", "1.1.0", "newnet", {"a", "old"});
  for (auto cid : {"keep", "drop"})
    ASSERT_EQ(run_podns({"cni", "add", "newnet", "/x", "--container-id", cid}, env()).exit_code, 0);
  auto gc = run_podns({"cni", "gc", "newnet", "--valid", "keep:eth0"}, env());
  ASSERT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_TRUE(std::filesystem::exists(state / "cni/results/newnet-keep-eth0"));
  EXPECT_FALSE(std::filesystem::exists(state / "cni/results/newnet-drop-eth0"));
  EXPECT_EQ(bin.calls().back()["command"], "GC");
  auto st = run_podns({"cni", "status", "newnet"}, env());
  EXPECT_EQ(st.exit_code, 0) << st.err;
  EXPECT_EQ(bin.calls().back()["command"], "STATUS");
  EXPECT_EQ(bin.calls().back()["type"], "a");
  auto bad = run_podns({"cni", "gc", "newnet", "--valid", "-bad"}, env());
  EXPECT_NE(bad.exit_code, 0);
}

TEST(CniCliReal, LoopbackOnPinnedNetns) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("/usr/lib/cni/loopback", "containernetworking-plugins");
  TempDir conf("cniconf"), state("cnistate");
  test::write_text(conf / "lo.conflist", R"({"cniVersion":"1.0.0","name":"lo","plugins":[{"type":"loopback"}]})");
  test::TestNetns ns;
  ASSERT_FALSE(ns.path().empty()) << ns.error();
  std::vector<std::string> e = {"NETCONFPATH=" + conf.path(), "CNI_PATH=/usr/lib/cni", "CNI_IFNAME=lo"};
  auto add = run_podns({"--state-dir", state.path(), "cni", "add", "lo", ns.path()}, e);
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_EQ(json::parse(add.out)["cniVersion"], "1.0.0");
  auto up = podns::test::run({"nsenter", "--net=" + ns.path(), "ip", "-o", "addr", "show", "lo"});
  EXPECT_NE(up.out.find("127.0.0.1"), std::string::npos) << up.out;
  auto del = run_podns({"--state-dir", state.path(), "cni", "del", "lo", ns.path()}, e);
  EXPECT_EQ(del.exit_code, 0) << del.err;
}

}  // namespace
}  // namespace podns::cni
