// Pod operations under faults the kernel and the plugins will not produce on demand, injected at
// the sys/ fault points (src/sys/fault.hpp) or by a fake plugin: EINTR on the pipes and sockets to
// plugins and helpers, EBUSY from umount, a plugin SIGKILLed while writing its result. Each time:
// a clear error or none at all, nothing lost, nothing left behind, and the retry works.
#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>

#include <gtest/gtest.h>

#include "pod_fixture.hpp"
#include "podns/pin.hpp"
#include "podns/pod/pod.hpp"
#include "sys/fault.hpp"

namespace podns::pod {
namespace {

using podns::test::expect_no_trace;
using podns::test::PodWorld;
namespace fs = std::filesystem;

// Every other read, write, send and recv on a pipe or socket fails with EINTR, as if a signal
// handler of the embedding program ran each time; counts the injections per point.
class EveryOtherCallInterrupted {
 public:
  EveryOtherCallInterrupted()
      : scoped_([this](std::string_view point) {
          if (point != sys::fault::kRead && point != sys::fault::kWrite && point != sys::fault::kSend &&
              point != sys::fault::kRecv)
            return sys::fault::Decision{};
          if (calls_.fetch_add(1) % 2 != 0) return sys::fault::Decision{};
          std::lock_guard lock(mu_);
          ++injected_[std::string(point)];
          return sys::fault::Decision{.error = EINTR};
        }) {}
  int injected(std::string_view point) {
    std::lock_guard lock(mu_);
    return injected_[std::string(point)];
  }

 private:
  std::atomic<long> calls_{0};
  std::mutex mu_;
  std::map<std::string, int> injected_;
  sys::fault::Scoped scoped_;  // last: uninstalled before the counters go
};

TEST(PodFault, EintrOnEveryOtherCallChangesNothing) {
  PODNS_REQUIRE_CNI();
  PodWorld w;
  w.write_bridge_network("cninet", 210);
  EveryOtherCallInterrupted eintr;
  // A user namespace (the spawn helper's socket), the native network and a CNI network (the
  // plugin's stdin, stdout and the result cache), an exec (the child's error pipe), then rm.
  auto info = create(w.env, {.name = "ei", .networks = {"podns", "cninet"}, .userns = "auto"});
  ASSERT_OK(info);
  EXPECT_EQ(info->phase, state::PodPhase::ready);
  ASSERT_EQ(info->networks.size(), 2u);
  EXPECT_EQ(info->networks[1].addresses.size(), 1u);
  auto code = exec(w.env, "ei", {"sh", "-c", "exit 7"});
  ASSERT_OK(code);
  EXPECT_EQ(*code, 7);
  auto again = inspect(w.env, "ei");
  ASSERT_OK(again);
  EXPECT_EQ(test::stored_json(*again), to_json(*info));
  ASSERT_OK(remove(w.env, "ei"));
  expect_no_trace(w, "ei");
  EXPECT_GT(eintr.injected(sys::fault::kRead), 0);   // plugin stdout, error pipes
  EXPECT_GT(eintr.injected(sys::fault::kSend), 0);   // plugin stdin, the spawn helper
  EXPECT_GT(eintr.injected(sys::fault::kRecv), 0);   // the spawn helper
  EXPECT_GT(eintr.injected(sys::fault::kWrite), 0);  // the CNI result cache
  EXPECT_TRUE(w.warnings.empty()) << w.warnings.front();
}

// slirp4netns as root: its ready pipe, its --help probe and its API socket (the port forward).
// An EINTR on the ready pipe used to be taken for slirp4netns failing at start.
TEST(PodFault, EintrDuringARootlessStartChangesNothing) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("slirp4netns", "slirp4netns");
  PodWorld w;
  EveryOtherCallInterrupted eintr;
  int port = 32000 + getpid() % 1000;
  auto info = create(w.env, {.name = "er", .ports = {{"127.0.0.1", port, 80, "tcp"}}, .rootless_net = "slirp4netns"});
  ASSERT_OK(info);
  ASSERT_EQ(info->helpers.size(), 1u);
  ASSERT_OK(remove(w.env, "er"));
  expect_no_trace(w, "er");
  EXPECT_GT(eintr.injected(sys::fault::kRead), 0);
  EXPECT_GT(eintr.injected(sys::fault::kSend) + eintr.injected(sys::fault::kRecv), 0);
}

TEST(PodFault, BusyUnmountKeepsThePodAndTheRetryRemovesIt) {
  PODNS_REQUIRE_CNI();
  PodWorld w;
  int port = 33000 + getpid() % 1000;
  auto info = create(w.env, {.name = "busy", .ports = {{"127.0.0.1", port, 80, "tcp"}}});
  ASSERT_OK(info);
  {
    sys::fault::Scoped faults([](std::string_view point) {
      return sys::fault::Decision{.error = point == sys::fault::kUmount ? EBUSY : 0};
    });
    auto r = remove(w.env, "busy");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("unmount: Device or resource busy"), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find("state kept; run pod rm again"), std::string::npos) << r.error().message();
  }
  // Nothing lost: the pod is recorded (being removed) and its namespaces are still pinned.
  auto st = inspect(w.env, "busy");
  ASSERT_OK(st);
  EXPECT_EQ(st->phase, state::PodPhase::removing);
  auto live = pin_is_live(info->netns_path);
  ASSERT_OK(live);
  EXPECT_TRUE(*live);
  ASSERT_OK(remove(w.env, "busy"));
  expect_no_trace(w, "busy");
}

// A CNI chain whose second plugin (fake_plugin.py, dieMidWrite) is SIGKILLed halfway through
// writing its result, after the real bridge plugin attached the pod: the error names the signal,
// both plugins get their DEL (no veth on the bridge, no host-local lease) and the pod is rolled back.
TEST(PodFault, PluginKilledMidWriteRollsTheChainBack) {
  PODNS_REQUIRE_CNI();
  PODNS_REQUIRE_TOOL("/usr/bin/python3", "python3");
  PodWorld w;
  std::string bin = w.dir() / "plugins";
  fs::create_directories(bin);
  fs::create_symlink(test::source_dir() + "/tests/cni/fake_plugin.py", bin + "/halfwriter");
  w.env.plugin_dirs.insert(w.env.plugin_dirs.begin(), bin);
  std::string bridge = test::unique_name("pm");
  w.extra_bridges.push_back(bridge);
  std::string log = w.dir() / "calls.log";
  nlohmann::json conf = {
      {"cniVersion", "1.0.0"},
      {"name", "dying"},
      {"plugins",
       {{{"type", "bridge"},
         {"bridge", bridge},
         {"ipam",
          {{"type", "host-local"},
           {"ranges", {{{{"subnet", fmt::format("172.{}.211.0/24", 16 + getpid() % 16)}}}}},
           {"dataDir", w.env.default_network.data_dir}}}},
        {{"type", "halfwriter"}, {"fake", {{"log", log}, {"dieMidWrite", {"ADD"}}}}}}}};
  PodWorld::write_file(w.env.cni_conf_dir + "/dying.conflist", conf.dump());

  auto r = create(w.env, {.name = "mid", .networks = {"dying"}});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::plugin_failed)) << r.error().message();
  EXPECT_NE(r.error().message().find("plugin halfwriter (ADD): killed by signal 9"), std::string::npos)
      << r.error().message();
  std::ifstream calls(log);
  std::vector<std::string> commands;
  for (std::string line; std::getline(calls, line);)
    commands.push_back(nlohmann::json::parse(line)["command"].get<std::string>());
  EXPECT_EQ(commands, (std::vector<std::string>{"ADD", "DEL"}));
  expect_no_trace(w, "mid");
  auto links = test::run({"ip", "-o", "link", "show", "master", bridge});
  EXPECT_EQ(links.out, "") << "a veth of the rolled-back pod is still on the bridge";
  EXPECT_TRUE(w.warnings.empty()) << w.warnings.front();
}

}  // namespace
}  // namespace podns::pod
