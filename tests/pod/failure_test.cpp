// Bad input and failing plugins: a clear error, and nothing half-made remains.
#include <sqlite3.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "pod_fixture.hpp"
#include "podns/pin.hpp"
#include "podns/pod/pod.hpp"
#include "podns/state/lock.hpp"

namespace podns::pod {
namespace {

using podns::test::expect_no_trace;
using podns::test::PodWorld;
namespace fs = std::filesystem;

TEST(PodFailure, InvalidInputIsRejectedBeforeAnything) {
  PodWorld w;
  struct Case {
    CreateOptions o;
    std::string message;
  };
  std::vector<Case> cases = {
      {{.name = "bad/name"}, "contains '/'"},
      {{.name = "-x"}, "must start with a letter or digit"},
      {{.name = "ok", .networks = {"a", "a"}}, "named twice"},
      {{.name = "ok", .ip = "10.0.0.300"}, "not an IP address"},
      {{.name = "ok", .mac = "01:00:00:00:00:01"}, "unicast MAC"},
      {{.name = "ok", .sysctls = {{"kernel.hostname", "x"}}}, "only net.* sysctls"},
      {{.name = "ok", .ports = {{"", 80, 80, "tcp"}, {"127.0.0.1", 80, 81, "tcp"}}}, "published twice"},
      {{.name = "ok", .userns = "nonsense"}, "expected auto"},
      {{.name = "ok", .rootless_net = "vpnkit"}, "expected slirp4netns or pasta"},
  };
  for (auto& c : cases) {
    auto r = create(w.env, c.o);
    ASSERT_FALSE(r) << c.message;
    EXPECT_NE(r.error().message().find(c.message), std::string::npos) << r.error().message();
  }
  EXPECT_FALSE(fs::exists(w.env.paths.db_path()));  // nothing was even recorded
}

TEST(PodFailure, PortSpecsParseLikePodman) {
  auto p = parse_port_spec("127.0.0.1:8080:80/udp");
  ASSERT_OK(p);
  EXPECT_EQ(*p, (PortSpec{"127.0.0.1", 8080, 80, "udp"}));
  EXPECT_EQ(*parse_port_spec("8080:80"), (PortSpec{"", 8080, 80, "tcp"}));
  EXPECT_EQ(*parse_port_spec("9000"), (PortSpec{"", 9000, 9000, "tcp"}));
  EXPECT_EQ(*parse_port_spec("[::1]:8080:80"), (PortSpec{"::1", 8080, 80, "tcp"}));
  EXPECT_EQ(*parse_port_spec("0.0.0.0:1:2"), (PortSpec{"", 1, 2, "tcp"}));
  for (const char* bad : {"", "x:80", "70000:80", "80:0", "1.2.3:80:80", "80:80/icmp", "a:b:c:d", ":80:80"}) {
    auto r = parse_port_spec(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_TRUE(r.error().is(Errc::invalid_argument));
  }
  EXPECT_EQ(format_port_spec({"::1", 8080, 80, "tcp"}), "[::1]:8080:80/tcp");
}

TEST(PodFailure, DuplicateNameKeepsTheFirstPod) {
  PODNS_REQUIRE_CNI();
  PodWorld w;
  auto first = create(w.env, {.name = "dup"});
  ASSERT_OK(first);
  auto second = create(w.env, {.name = "dup", .ports = {{"", 30000 + getpid() % 1000, 80, "tcp"}}});
  ASSERT_FALSE(second);
  EXPECT_TRUE(second.error().is(Errc::already_exists)) << second.error().message();
  auto again = inspect(w.env, "dup");
  ASSERT_OK(again);
  EXPECT_EQ(test::stored_json(*again), to_json(*first));
  auto live = pin_is_live(first->netns_path);
  ASSERT_OK(live);
  EXPECT_TRUE(*live);
  ASSERT_OK(remove(w.env, "dup"));
  expect_no_trace(w, "dup");
}

TEST(PodFailure, UnknownNetworkAndMissingPlugin) {
  PODNS_REQUIRE_CNI();
  PodWorld w;
  auto r = create(w.env, {.name = "x", .networks = {"nosuchnet"}});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::not_found));
  EXPECT_NE(r.error().message().find("network nosuchnet"), std::string::npos) << r.error().message();
  PodWorld::write_file(w.env.cni_conf_dir + "/ghost.conflist",
                       R"({"cniVersion":"1.0.0","name":"ghost","plugins":[{"type":"no-such-plugin"}]})");
  r = create(w.env, {.name = "x", .networks = {"ghost"}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("plugin no-such-plugin"), std::string::npos) << r.error().message();
  expect_no_trace(w, "x");
}

TEST(PodFailure, PortConflictWithAnotherPod) {
  PODNS_REQUIRE_CNI();
  PodWorld w;
  int port = 31000 + getpid() % 1000;
  ASSERT_OK(create(w.env, {.name = "a", .ports = {{"127.0.0.1", port, 80, "tcp"}}}));
  auto r = create(w.env, {.name = "b", .ports = {{"", port, 81, "tcp"}}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("already published by pod a"), std::string::npos) << r.error().message();
  expect_no_trace(w, "b");
  ASSERT_OK(remove(w.env, "a"));
}

TEST(PodFailure, IpOutsideTheSubnetRollsBack) {
  PODNS_REQUIRE_CNI();
  PodWorld w;
  auto r = create(w.env, {.name = "far", .ip = "192.0.2.7"});
  ASSERT_FALSE(r);
  // The native default network says so itself; a CNI network's host-local would fail the plugin.
  EXPECT_TRUE(r.error().is(Errc::invalid_argument)) << r.error().message();
  EXPECT_NE(r.error().message().find("192.0.2.7"), std::string::npos) << r.error().message();
  expect_no_trace(w, "far");
  EXPECT_TRUE(w.warnings.empty()) << w.warnings.front();
}

TEST(PodFailure, SecondNetworkFailingRollsBackTheFirst) {
  PODNS_REQUIRE_CNI();
  PodWorld w;
  // A real plugin failing for real: host-local refuses a rangeStart outside its subnet.
  PodWorld::write_file(w.env.cni_conf_dir + "/broken.conflist", R"({"cniVersion":"1.0.0","name":"broken","plugins":[
    {"type":"bridge","bridge":")" + w.bridge() + R"(","ipam":{"type":"host-local","dataDir":")" +
                                                       w.env.default_network.data_dir +
                                                       R"(","ranges":[[{"subnet":"192.0.2.0/24","rangeStart":"198.51.100.1"}]]}}]})");
  auto r = create(w.env, {.name = "half", .networks = {"podns", "broken"}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("attach network broken as eth1"), std::string::npos) << r.error().message();
  expect_no_trace(w, "half");
}

TEST(PodFailure, CorruptDatabaseIsReportedAndNothingIsMade) {
  PODNS_REQUIRE_CNI();
  PodWorld w;
  fs::create_directories(w.env.paths.state_dir);
  std::string junk(4096, 'j');
  PodWorld::write_file(w.env.paths.db_path(), junk);
  auto r = create(w.env, {.name = "c"});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::corrupt)) << r.error().message();
  EXPECT_NE(r.error().message().find(w.env.paths.db_path()), std::string::npos);
  auto pins = find_pins(w.env.paths, "c");
  ASSERT_OK(pins);
  EXPECT_TRUE(pins->empty());
  std::ifstream f(w.env.paths.db_path());
  std::string now((std::istreambuf_iterator<char>(f)), {});
  EXPECT_EQ(now, junk);
  fs::remove(w.env.paths.db_path());
}

TEST(PodFailure, LockedDatabaseTimesOutCleanly) {
  PODNS_REQUIRE_CNI();
  PodWorld w;
  ASSERT_OK(create(w.env, {.name = "first"}));
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(w.env.paths.db_path().c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  w.env.db_busy_timeout = std::chrono::milliseconds(300);
  auto r = create(w.env, {.name = "second"});
  sqlite3_exec(raw, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(raw);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::busy)) << r.error().message();
  expect_no_trace(w, "second");
  ASSERT_OK(remove(w.env, "first"));
}

// A plugin whose DEL fails on demand: the real plugins cannot be made to fail DEL.
std::string write_flaky_plugin(PodWorld& w) {
  std::string dir = w.dir() / "plugins";
  fs::create_directories(dir);
  std::string flag = w.dir() / "fail-del";
  PodWorld::write_file(dir + "/flaky", "#!/bin/sh\ncat >/dev/null\ncase \"$CNI_COMMAND\" in\n"
                                       "ADD) echo '{\"cniVersion\":\"1.0.0\",\"interfaces\":[],\"ips\":[]}';;\n"
                                       "DEL) if [ -e " + flag + " ]; then echo '{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"flaky DEL failure\"}'; exit 1; fi;;\n"
                                       "VERSION) echo '{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"0.4.0\",\"1.0.0\"]}';;\n"
                                       "esac\n");
  ::chmod((dir + "/flaky").c_str(), 0755);
  PodWorld::write_file(w.env.cni_conf_dir + "/flaky.conflist",
                       R"({"cniVersion":"1.0.0","name":"flaky","plugins":[{"type":"flaky"}]})");
  w.env.plugin_dirs.insert(w.env.plugin_dirs.begin(), dir);
  PodWorld::write_file(flag, "");
  return flag;
}

TEST(PodFailure, RemoveGoesOnWhenAPluginFailsAndRetriesLater) {
  PODNS_REQUIRE_CNI();
  PodWorld w;
  std::string flag = write_flaky_plugin(w);
  auto info = create(w.env, {.name = "fl", .networks = {"podns", "flaky"}});
  ASSERT_OK(info);
  auto r = remove(w.env, "fl");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("flaky DEL failure"), std::string::npos) << r.error().message();
  // It went on: the podns network is gone, only the failed attachment and the pins remain.
  auto st = inspect(w.env, "fl");
  ASSERT_OK(st);
  EXPECT_EQ(st->phase, state::PodPhase::removing);
  ASSERT_EQ(st->networks.size(), 1u);
  EXPECT_EQ(st->networks[0].network, "flaky");
  auto live = pin_is_live(info->netns_path);
  ASSERT_OK(live);
  EXPECT_TRUE(*live);
  fs::remove(flag);
  ASSERT_OK(remove(w.env, "fl"));
  expect_no_trace(w, "fl");
}

TEST(PodFailure, ForceRemoveDropsStateDespiteFailuresAndKeepsTheDelPending) {
  PODNS_REQUIRE_CNI();
  PodWorld w;
  std::string flag = write_flaky_plugin(w);
  ASSERT_OK(create(w.env, {.name = "ff", .networks = {"podns", "flaky"}}));
  ASSERT_OK(remove(w.env, "ff", {.force = true}));
  ASSERT_FALSE(w.warnings.empty());
  EXPECT_NE(w.warnings.front().find("flaky DEL failure"), std::string::npos) << w.warnings.front();
  EXPECT_NE(w.warnings.front().find("kept as a pending DEL"), std::string::npos) << w.warnings.front();
  expect_no_trace(w, "ff");
  // The DEL it still owes is kept (with the stored result), not forgotten with the pod.
  auto pending = pending_dels(w.env);
  ASSERT_OK(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ(pending->front().network, "flaky");
  EXPECT_EQ(pending->front().container_id, container_id("ff"));
  EXPECT_EQ(pending->front().ifname, "eth1");
  EXPECT_NE(pending->front().result, "");
  fs::remove(flag);
  auto g = gc(w.env);
  ASSERT_OK(g);
  EXPECT_EQ(g->pending_dels_done, 1);
  EXPECT_TRUE(g->errors.empty()) << g->errors.front().message();
  pending = pending_dels(w.env);
  ASSERT_OK(pending);
  EXPECT_TRUE(pending->empty());
}

TEST(PodConcurrency, TwoOperationsOnOnePodSerializeAndGcExcludesThem) {
  PODNS_REQUIRE_CNI();
  PodWorld w;
  ASSERT_OK(create(w.env, {.name = "busy"}));
  {
    auto held = state::lock_pod(w.env.paths.locks_dir(), "busy");
    ASSERT_OK(held);
    w.env.lock_timeout = std::chrono::milliseconds(200);
    auto r = remove(w.env, "busy");
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(Errc::busy)) << r.error().message();
    // Other pods are not blocked.
    EXPECT_OK(create(w.env, {.name = "other"}));
  }
  {
    auto op = state::lock_global(w.env.paths.locks_dir(), state::FileLock::Mode::shared);
    ASSERT_OK(op);
    auto g = gc(w.env);
    ASSERT_FALSE(g);
    EXPECT_TRUE(g.error().is(Errc::busy));
  }
  w.env.lock_timeout = std::chrono::seconds(30);
  ASSERT_OK(remove(w.env, "busy"));
  ASSERT_OK(remove(w.env, "other"));
  expect_no_trace(w, "busy");
}

}  // namespace
}  // namespace podns::pod
