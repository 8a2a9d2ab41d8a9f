// podns-bridge as runtimes really call it: many processes at once, a plugin killed in the middle
// of ADD, a runtime that never calls DEL, and the errors a runtime acts on (try again later, a
// changed network, an unknown container, STATUS). The plugin is exec'd directly, one process per
// call, as containerd and CRI-O exec it.
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <thread>

#include "plugin_fixture.hpp"
#include "podns/state/lock.hpp"

namespace podns::test {
namespace {

using nlohmann::json;

void expect_nothing_left(const PluginWorld& w) {
  auto h = w.held();
  EXPECT_TRUE(h.rows.empty()) << h.rows.front();
  EXPECT_TRUE(h.leases.empty()) << h.leases.front();
  EXPECT_EQ(h.forwards, 0u);
  EXPECT_TRUE(w.attachment_locks().empty()) << w.attachment_locks().front();
}

json ports(uint16_t host) {
  return {{"runtimeConfig", {{"portMappings", {{{"hostPort", host}, {"containerPort", 80}, {"protocol", "tcp"}}}}}}};
}

TEST(PodnsBridge, ThirtyTwoParallelAddsThenDelsGetDistinctAddressesAndLeaveNothing) {
  REQUIRE_NETNS_TOOLS();
  PluginWorld w;
  constexpr int kN = 32;
  std::vector<std::unique_ptr<TestNetns>> ns;
  for (int i = 0; i < kN; ++i) {
    ns.push_back(std::make_unique<TestNetns>(w.dir() / fmt::format("n{}", i)));
    ASSERT_TRUE(ns.back()->ok()) << ns.back()->error();
  }
  std::vector<CommandResult> adds(kN), dels(kN);
  auto all = [&](auto fn) {
    std::vector<std::thread> ts;
    for (int i = 0; i < kN; ++i) ts.emplace_back(fn, i);
    for (auto& t : ts) t.join();
  };
  const auto base_port = static_cast<uint16_t>(20000 + (::getpid() * 13) % 10000);
  // The first ADDs also race to create the network: one makes it, the others find it made.
  all([&](int i) {
    adds[i] = w.exec_plugin("ADD", "1.0.0", fmt::format("ctr{}", i), ns[i]->path(),
                            w.plugin(ports(static_cast<uint16_t>(base_port + i))));
  });
  std::set<std::string> ips, veths;
  for (int i = 0; i < kN; ++i) {
    ASSERT_EQ(adds[i].exit_code, 0) << i << ": " << adds[i].out << adds[i].err;
    auto r = json::parse(adds[i].out);
    ips.insert(first_ip(r));
    veths.insert(r["interfaces"][0]["name"].get<std::string>());
  }
  EXPECT_EQ(ips.size(), static_cast<size_t>(kN));
  EXPECT_EQ(veths.size(), static_cast<size_t>(kN));
  auto h = w.held();
  EXPECT_EQ(h.rows.size(), static_cast<size_t>(kN));
  EXPECT_EQ(h.leases.size(), static_cast<size_t>(kN));
  EXPECT_EQ(h.forwards, static_cast<size_t>(kN));

  all([&](int i) { dels[i] = w.exec_plugin("DEL", "1.0.0", fmt::format("ctr{}", i), ns[i]->path(), w.plugin()); });
  for (int i = 0; i < kN; ++i) EXPECT_EQ(dels[i].exit_code, 0) << i << ": " << dels[i].out;
  expect_nothing_left(w);
  for (const auto& v : veths) EXPECT_FALSE(host_link_exists(v)) << v;
}

// A DEL that removed port forwards hands its nf_tables socket's last close (which waits for an RCU
// grace period) to a podns-close process, as `pod rm` does; with this test as the subreaper the
// closer comes back here to be seen.
TEST(PodnsBridge, DelOfPublishedPortsReturnsBeforeTheKernelsGracePeriod) {
  REQUIRE_NETNS_TOOLS();
  PluginWorld w;
  TestNetns ns(w.dir() / "n");
  ASSERT_TRUE(ns.ok()) << ns.error();
  const auto port = static_cast<uint16_t>(20000 + (::getpid() * 17) % 10000);
  auto add = w.exec_plugin("ADD", "1.0.0", "ctr", ns.path(), w.plugin(ports(port)));
  ASSERT_EQ(add.exit_code, 0) << add.out << add.err;
  ChildSubreaper subreaper;
  ASSERT_TRUE(subreaper.ok());
  auto del = w.exec_plugin("DEL", "1.0.0", "ctr", ns.path(), w.plugin());
  EXPECT_EQ(del.exit_code, 0) << del.out << del.err;
  int status = reap_child_named("podns-close", 10'000);
  ASSERT_NE(status, -1) << "DEL started no closer";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  expect_nothing_left(w);
}

TEST(PodnsBridge, KilledInTheMiddleOfAddThenDelLeavesNothing) {
  REQUIRE_NETNS_TOOLS();
  PluginWorld w;
  TestNetns a(w.dir() / "a");
  ASSERT_TRUE(a.ok());
  const auto port = static_cast<uint16_t>(31000 + ::getpid() % 10000);
  for (std::string point : {"plugin.recorded", "network.attach-intent", "network.attach-veth", "network.attach-configured",
                            "network.attach-forwarded"}) {
    SCOPED_TRACE(point);
    // podns-bridge-faulty: the plugin with a fault handler that SIGKILLs it at the named point.
    auto add = w.exec_plugin("ADD", "1.0.0", "ctr-a", a.path(), w.plugin(ports(port)),
                             {"PODNS_TEST_KILL_POINT=" + point}, PODNS_BRIDGE_FAULTY_PATH);
    ASSERT_EQ(add.exit_code, 128 + SIGKILL) << add.out << add.err;
    EXPECT_EQ(w.held().rows.size(), 1u);  // what the intents name is recorded
    // What runtimes do after a failed ADD: DEL.
    auto del = w.exec_plugin("DEL", "1.0.0", "ctr-a", a.path(), w.plugin());
    ASSERT_EQ(del.exit_code, 0) << del.out;
    expect_nothing_left(w);
    EXPECT_NE(a.exec({"ip", "link", "show", "dev", "eth0"}).exit_code, 0);
  }
  // The netns is as good as new: a full ADD works in it. The shipped plugin reads no kill point.
  auto add = w.exec_plugin("ADD", "1.0.0", "ctr-a", a.path(), w.plugin(ports(port)),
                           {"PODNS_TEST_KILL_POINT=plugin.recorded"});
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_EQ(w.exec_plugin("DEL", "1.0.0", "ctr-a", a.path(), w.plugin()).exit_code, 0);
  expect_nothing_left(w);
}

TEST(PodnsBridge, PodnsGcReleasesWhatNoRuntimeDeleted) {
  REQUIRE_NETNS_TOOLS();
  PluginWorld w;
  auto a = std::make_unique<TestNetns>(w.dir() / "a");
  TestNetns b(w.dir() / "b");
  ASSERT_TRUE(a->ok() && b.ok());
  auto ra = w.exec_plugin("ADD", "1.0.0", "ctr-a", a->path(), w.plugin(ports(static_cast<uint16_t>(32000 + ::getpid() % 9000))));
  ASSERT_EQ(ra.exit_code, 0) << ra.out;
  auto rb = w.exec_plugin("ADD", "1.0.0", "ctr-b", b.path(), w.plugin());
  ASSERT_EQ(rb.exit_code, 0) << rb.out;
  const std::string host_veth = json::parse(ra.out)["interfaces"][0]["name"];
  a.reset();  // the container went away and its runtime crashed: no DEL will ever come
  auto gc = run_podns({"gc"}, {"PODNS_STATE_DIR=" + w.env.paths.state_dir, "PODNS_RUN_DIR=" + w.env.paths.run_dir,
                               "PODNS_NFT_TABLE=" + w.table()});
  ASSERT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_NE(gc.out.find("ctr-a"), std::string::npos) << gc.out;
  // ctr-b still lives: untouched.
  auto h = w.held();
  ASSERT_EQ(h.rows.size(), 1u);
  EXPECT_NE(h.rows[0].find("ctr-b"), std::string::npos);
  EXPECT_EQ(h.leases, std::vector<std::string>{first_ip(json::parse(rb.out))});
  EXPECT_EQ(h.forwards, 0u);
  EXPECT_EQ(w.attachment_locks().size(), 1u);
  EXPECT_TRUE(host_link_gone(host_veth));
  // The late DEL of ctr-a is still a success; ctr-b goes the usual way.
  EXPECT_EQ(w.exec_plugin("DEL", "1.0.0", "ctr-a", "", w.plugin()).exit_code, 0);
  EXPECT_EQ(w.exec_plugin("DEL", "1.0.0", "ctr-b", b.path(), w.plugin()).exit_code, 0);
  expect_nothing_left(w);
}

TEST(PodnsBridge, ErrorsCarryTheCodesARuntimeActsOn) {
  REQUIRE_NETNS_TOOLS();
  PluginWorld w;
  TestNetns a(w.dir() / "a"), b(w.dir() / "b");
  ASSERT_TRUE(a.ok() && b.ok());
  auto add = w.exec_plugin("ADD", "1.0.0", "ctr-a", a.path(), w.plugin());
  ASSERT_EQ(add.exit_code, 0) << add.out;

  // ADD twice without DEL: refused, the first stays intact.
  auto twice = w.exec_plugin("ADD", "1.0.0", "ctr-a", a.path(), w.plugin());
  EXPECT_EQ(twice.exit_code, 1);
  EXPECT_NE(cni_error_of(twice).value("msg", "").find("attached already"), std::string::npos) << twice.out;
  EXPECT_EQ(w.held().leases.size(), 1u);

  // The network in use, and a config that defines it otherwise: 7, nothing changes.
  json other = w.plugin({{"ipam", {{"ranges", {{{{"subnet", w.address(0) + "/25"}}}}}}}});
  auto changed = w.exec_plugin("ADD", "1.0.0", "ctr-b", b.path(), other);
  EXPECT_EQ(cni_error_of(changed).value("code", 0), 7) << changed.out;
  EXPECT_NE(cni_error_of(changed).value("msg", "").find("another definition"), std::string::npos) << changed.out;
  EXPECT_EQ(w.held().rows.size(), 1u);

  // CHECK of a container that was never added: 3.
  json prev = {{"prevResult", json::parse(add.out)}};
  auto unknown = w.exec_plugin("CHECK", "1.0.0", "ctr-x", b.path(), w.plugin(prev));
  EXPECT_EQ(cni_error_of(unknown).value("code", 0), 3) << unknown.out;
  auto known = w.exec_plugin("CHECK", "1.0.0", "ctr-a", a.path(), w.plugin(prev));
  EXPECT_EQ(known.exit_code, 0) << known.out;
  // CHECK notices what it must: the interface gone from the netns.
  a.ip({"link", "set", "eth0", "down"});
  auto down = w.exec_plugin("CHECK", "1.0.0", "ctr-a", a.path(), w.plugin(prev));
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_NE(cni_error_of(down).value("msg", "").find("eth0 is down"), std::string::npos) << down.out;

  // STATUS: ready; 51 once the bridge is gone under a live pod; 50 when no address is left.
  EXPECT_EQ(w.exec_plugin("STATUS", "1.1.0", "", "", w.plugin()).exit_code, 0);
  run({"ip", "link", "del", w.bridge()});
  auto limited = w.exec_plugin("STATUS", "1.1.0", "", "", w.plugin());
  EXPECT_EQ(cni_error_of(limited).value("code", 0), 51) << limited.out;
  EXPECT_EQ(cni_error_of(limited)["cniVersion"], "1.1.0");

  // A lock held past the timeout: 11, try again later.
  {
    auto global = state::lock_global(w.env.paths.locks_dir(), state::FileLock::Mode::exclusive);
    ASSERT_OK(global);
    auto busy = w.exec_plugin("ADD", "1.0.0", "ctr-b", b.path(), w.plugin({{"podnsLockTimeout", 0.2}}));
    EXPECT_EQ(cni_error_of(busy).value("code", 0), 11) << busy.out;
  }
  EXPECT_EQ(w.exec_plugin("DEL", "1.0.0", "ctr-a", a.path(), w.plugin()).exit_code, 0);

  // Unused now: the new definition replaces the old one. A /30 has room for one pod.
  json tiny = w.plugin({{"ipam", {{"ranges", {{{{"subnet", w.address(0) + "/30"}}}}}}}});
  auto replaced = w.exec_plugin("ADD", "1.1.0", "ctr-b", b.path(), tiny);
  ASSERT_EQ(replaced.exit_code, 0) << replaced.out;
  EXPECT_EQ(first_ip(json::parse(replaced.out)), w.address(2));
  auto full = w.exec_plugin("STATUS", "1.1.0", "", "", tiny);
  EXPECT_EQ(cni_error_of(full).value("code", 0), 50) << full.out;
  auto no_room = w.exec_plugin("ADD", "1.1.0", "ctr-a", a.path(), tiny);
  EXPECT_EQ(no_room.exit_code, 1) << no_room.out;
  EXPECT_EQ(w.exec_plugin("DEL", "1.1.0", "ctr-b", b.path(), tiny).exit_code, 0);
  expect_nothing_left(w);
}

}  // namespace
}  // namespace podns::test
