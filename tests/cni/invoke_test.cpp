// Plugin execution against fake plugin processes: environment, stdin, error objects, crashes,
// garbage, missing binaries, and the deadline that kills a hung plugin's whole process group.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>

#include "cni_test_util.hpp"
#include "podns/cni/invoke.hpp"

namespace podns::cni {
namespace {

using nlohmann::json;
using test::FakeBin;

struct InvokeTest : ::testing::Test {
  void SetUp() override {
    PODNS_REQUIRE_TOOL("/usr/bin/python3", "python3");
    bin.install("fake");
    path = bin.path() + "/fake";
    call.command = "ADD";
    call.container_id = "ctr";
    call.netns = "/run/netns/none";
    call.ifname = "eth0";
    call.args = {{"IgnoreUnknown", "1"}, {"K8S_POD_NAME", "web"}};
    call.plugin_dirs = {bin.path(), "/usr/lib/cni"};
  }
  json config(json fake = json::object()) {
    fake["log"] = bin.log();
    return {{"cniVersion", "1.0.0"}, {"name", "n"}, {"type", "fake"}, {"fake", fake}};
  }
  FakeBin bin;
  std::string path;
  PluginCall call;
  ProcessExec exec;
};

TEST_F(InvokeTest, PassesEnvironmentAndStdin) {
  auto out = invoke_plugin(exec, "fake", path, call, config(), kDefaultDeadline);
  ASSERT_OK(out);
  auto r = json::parse(*out);
  EXPECT_EQ(r["interfaces"][0]["name"], "fake-eth0");
  auto calls = bin.calls();
  ASSERT_EQ(calls.size(), 1u);
  auto& env = calls[0]["env"];
  EXPECT_EQ(env["CNI_COMMAND"], "ADD");
  EXPECT_EQ(env["CNI_CONTAINERID"], "ctr");
  EXPECT_EQ(env["CNI_NETNS"], "/run/netns/none");
  EXPECT_EQ(env["CNI_IFNAME"], "eth0");
  EXPECT_EQ(env["CNI_ARGS"], "IgnoreUnknown=1;K8S_POD_NAME=web");
  EXPECT_EQ(env["CNI_PATH"], bin.path() + ":/usr/lib/cni");
  EXPECT_EQ(calls[0]["conf"]["name"], "n");
}

TEST_F(InvokeTest, ErrorObjectOnStdoutNamesPluginVerbAndCode) {
  auto out = invoke_plugin(exec, "fake", path, call,
                           config({{"fail", {{"ADD", {{"code", 7}, {"msg", "bad subnet"}, {"details", "10.0.0.0/33"}}}}}}),
                           kDefaultDeadline);
  ASSERT_FALSE(out);
  EXPECT_TRUE(out.error().is(Errc::plugin_failed));
  const std::string m = out.error().message();
  EXPECT_NE(m.find("plugin fake (ADD)"), std::string::npos) << m;
  EXPECT_NE(m.find("CNI error 7 (invalid network config): bad subnet: 10.0.0.0/33"), std::string::npos) << m;
}

TEST_F(InvokeTest, StderrIsTheFallback) {
  auto j = config({{"failStderr", {{"ADD", "something broke\nbadly\n"}}}});
  auto out = invoke_plugin(exec, "fake", path, call, j, kDefaultDeadline);
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().message().find("exit status 1: something broke badly"), std::string::npos)
      << out.error().message();
  auto j2 = config({{"failStderr", {{"ADD", R"({"code":11,"msg":"later"})"}}}});
  auto out2 = invoke_plugin(exec, "fake", path, call, j2, kDefaultDeadline);
  ASSERT_FALSE(out2);
  EXPECT_NE(out2.error().message().find("CNI error 11 (try again later): later"), std::string::npos);
}

TEST_F(InvokeTest, GarbageOnFailureIsQuoted) {
  auto j = config({{"garbage", {{"ADD", "<html>oops"}}}, {"garbageExit", 3}});
  auto out = invoke_plugin(exec, "fake", path, call, j, kDefaultDeadline);
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().message().find("exit status 3: unparseable error output: <html>oops"), std::string::npos)
      << out.error().message();
}

TEST_F(InvokeTest, CrashIsReportedWithTheSignal) {
  auto out = invoke_plugin(exec, "fake", path, call, config({{"crash", {"ADD"}}}), kDefaultDeadline);
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().message().find("plugin fake (ADD): killed by signal 11"), std::string::npos)
      << out.error().message();
}

TEST_F(InvokeTest, DeadlineKillsTheWholeProcessGroup) {
  const std::string pidfile = bin.file("grandchild.pid");
  auto start = std::chrono::steady_clock::now();
  auto out = invoke_plugin(exec, "fake", path, call, config({{"hang", {{"ADD", pidfile}}}}),
                           std::chrono::milliseconds(1500));
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(out);
  EXPECT_TRUE(out.error().is(Errc::timed_out)) << out.error().message();
  EXPECT_NE(out.error().message().find("plugin fake (ADD): no answer within 1500 ms"), std::string::npos);
  EXPECT_LT(took, std::chrono::seconds(5));
  // The grandchild (sleep 300) died with its group; it was reparented, so poll for it to vanish.
  pid_t gc = std::stoi(test::read_text(pidfile));
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    std::string stat = test::read_text("/proc/" + std::to_string(gc) + "/stat");
    gone = stat.empty() || stat.find(") Z ") != std::string::npos;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(gone) << "grandchild " << gc << " survived the deadline";
}

TEST_F(InvokeTest, LargeConfigAndPluginIgnoringStdin) {
  // Bigger than a pipe buffer both ways.
  json j = config();
  j["blob"] = std::string(1 << 20, 'x');
  auto out = invoke_plugin(exec, "fake", path, call, j, kDefaultDeadline);
  ASSERT_OK(out);
  // /bin/true never reads stdin: no SIGPIPE kills us, exit 0 is success.
  ExecRequest req;
  req.path = "/bin/true";
  req.input = std::string(1 << 20, 'y');
  auto r = exec.run(req);
  ASSERT_OK(r);
  EXPECT_EQ(r->exit_code, 0);
}

TEST(PluginLookup, FindsFirstMatchAndExplainsFailures) {
  podns::test::TempDir a("cnia"), b("cnib");
  test::write_text(a / "x", "#!/bin/sh\n");  // not executable
  test::write_text(b / "y", "#!/bin/sh\n");
  ::chmod((b / "y").c_str(), 0755);
  auto y = find_plugin("y", {a.path(), b.path()});
  ASSERT_OK(y);
  EXPECT_EQ(*y, b / "y");
  auto x = find_plugin("x", {a.path(), b.path()});
  ASSERT_FALSE(x);
  EXPECT_NE(x.error().message().find("not executable"), std::string::npos);
  auto z = find_plugin("z", {a.path(), b.path()});
  ASSERT_FALSE(z);
  EXPECT_TRUE(z.error().is(Errc::not_found));
  EXPECT_NE(z.error().message().find("plugin \"z\" in CNI_PATH " + a.path() + ":" + b.path()), std::string::npos);
  auto evil = find_plugin("../../bin/sh", {a.path()});
  ASSERT_FALSE(evil);
  EXPECT_TRUE(evil.error().is(Errc::invalid_name));
  EXPECT_EQ(split_path_list("a::b:"), (std::vector<std::string>{"a", "b"}));
}

TEST(PluginVersion, ProbesRealPlugin) {
  PODNS_REQUIRE_TOOL("/usr/lib/cni/bridge", "containernetworking-plugins");
  ProcessExec exec;
  auto info = probe_plugin_version(exec, "bridge", "/usr/lib/cni/bridge", {"/usr/lib/cni"}, kDefaultDeadline);
  ASSERT_OK(info);
  EXPECT_TRUE(info->supports("1.0.0"));
  EXPECT_TRUE(info->supports("0.4.0"));
}

}  // namespace
}  // namespace podns::cni
