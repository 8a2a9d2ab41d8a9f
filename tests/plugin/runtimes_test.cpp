// podns-bridge driven by two CNI runtimes on the real kernel: Go libcni 1.1.2 (Debian's, a
// runtime podns did not write) for cniVersion 0.4.0 and 1.0.0, and podns's own CNI runtime for
// 1.1.0 with STATUS and GC. Containers ping each other, a published port answers on 127.0.0.1,
// DEL twice succeeds and leaves nothing, the reference tuning plugin follows podns-bridge in a
// chain, and podns's own pods share the network and the state.
#include <gtest/gtest.h>

#include <memory>
#include <set>

#include "../pod/pod_fixture.hpp"
#include "../pod/traffic.hpp"
#include "plugin_fixture.hpp"

namespace podns::test {
namespace {

using nlohmann::json;

uint16_t test_port(int n) { return static_cast<uint16_t>(30000 + (::getpid() * 7 + n * 131) % 20000); }

json port_caps(uint16_t host, uint16_t container) {
  return {{"portMappings", {{{"hostPort", host}, {"containerPort", container}, {"protocol", "tcp"}}}}};
}

// The interface inside `ns` is gone (DEL took it, so the runtime can ADD into the netns again).
bool no_eth0(const TestNetns& ns) { return ns.exec({"ip", "link", "show", "dev", "eth0"}).exit_code != 0; }

void expect_nothing_left(const PluginWorld& w) {
  auto h = w.held();
  EXPECT_TRUE(h.rows.empty()) << h.rows.front();
  EXPECT_TRUE(h.leases.empty()) << h.leases.front();
  EXPECT_EQ(h.forwards, 0u);
  EXPECT_TRUE(w.attachment_locks().empty()) << w.attachment_locks().front();
}

TEST(PodnsBridge, LibcniValidatesAddsChecksAndDeletesFor040And100) {
  REQUIRE_NETNS_TOOLS();
  REQUIRE_LIBCNI();
  for (std::string version : {"0.4.0", "1.0.0"}) {
    SCOPED_TRACE(version);
    PluginWorld w;
    auto conf = w.write_conflist(version, json::array({w.plugin()}));
    // VERSION of every plugin: the list's version must be among what podns-bridge supports.
    auto v = w.libcni("validate", conf);
    ASSERT_EQ(v.exit_code, 0) << v.err;
    EXPECT_NE(v.out.find("portMappings"), std::string::npos) << v.out;

    TestNetns a(w.dir() / "a"), b(w.dir() / "b");
    ASSERT_TRUE(a.ok() && b.ok()) << a.error() << b.error();
    const uint16_t port = test_port(1);
    auto ra = w.libcni("add", conf, {"-netns", a.path(), "-id", "ctr-a", "-cap-args", port_caps(port, 8080).dump()});
    ASSERT_EQ(ra.exit_code, 0) << ra.err;
    auto rb = w.libcni("add", conf, {"-netns", b.path(), "-id", "ctr-b"});
    ASSERT_EQ(rb.exit_code, 0) << rb.err;
    auto ja = json::parse(ra.out);
    EXPECT_EQ(ja["cniVersion"], version);
    // The host veth, then the pod's interface in its sandbox; the address points at it.
    ASSERT_EQ(ja["interfaces"].size(), 2u) << ra.out;
    EXPECT_EQ(ja["interfaces"][1]["name"], "eth0");
    EXPECT_EQ(ja["interfaces"][1]["sandbox"], a.path());
    EXPECT_FALSE(ja["interfaces"][1].value("mac", "").empty());
    EXPECT_TRUE(host_link_exists(ja["interfaces"][0]["name"]));
    ASSERT_EQ(ja["ips"].size(), 1u);
    EXPECT_EQ(ja["ips"][0]["interface"], 1);
    EXPECT_EQ(ja["ips"][0]["gateway"], w.address(1));
    EXPECT_EQ(ja["ips"][0].contains("version"), version == "0.4.0") << ra.out;
    EXPECT_EQ(ja["routes"][0]["dst"], "0.0.0.0/0");
    const std::string ip_a = first_ip(ja), ip_b = first_ip(json::parse(rb.out));
    ASSERT_NE(ip_a, ip_b);

    // Two containers ping each other; the published port answers on 127.0.0.1.
    EXPECT_TRUE(ping_from(a.path(), ip_b).value_or(false)) << ip_b;
    EXPECT_TRUE(ping_from(b.path(), ip_a).value_or(false)) << ip_a;
    auto listener = endpoint_in(a.path(), AF_INET, SOCK_STREAM, 8080);
    ASSERT_OK(listener);
    EXPECT_TRUE(tcp_reaches("", "127.0.0.1", port, listener->view()));

    for (auto* ns : {&a, &b}) {
      auto c = w.libcni("check", conf, {"-netns", ns->path(), "-id", ns == &a ? "ctr-a" : "ctr-b"});
      EXPECT_EQ(c.exit_code, 0) << c.err;
    }
    // Both are members of the podns network, as the runtime's containers.
    auto d = pod::network_inspect(w.env, w.net());
    ASSERT_OK(d);
    std::set<std::string> ids;
    for (const auto& m : d->members) {
      EXPECT_EQ(m.kind, "cni");
      ids.insert(m.container_id);
    }
    EXPECT_EQ(ids, (std::set<std::string>{"ctr-a", "ctr-b"}));
    EXPECT_EQ(d->forwards_expected, 1);
    EXPECT_EQ(d->forwards_missing, 0);

    // DEL twice succeeds, and the second finds nothing to do.
    for (int i = 0; i < 2; ++i) {
      for (auto* ns : {&a, &b}) {
        auto r = w.libcni("del", conf, {"-netns", ns->path(), "-id", ns == &a ? "ctr-a" : "ctr-b"});
        EXPECT_EQ(r.exit_code, 0) << r.err;
      }
    }
    expect_nothing_left(w);
    EXPECT_TRUE(no_eth0(a));
    EXPECT_TRUE(no_eth0(b));
    EXPECT_FALSE(host_link_exists(ja["interfaces"][0]["name"]));
  }
}

TEST(PodnsBridge, PodnsCniRuntimeAddsChecksStatusGcAndDeletes) {
  REQUIRE_NETNS_TOOLS();
  PluginWorld w;
  auto list = PluginWorld::parse(w.write_conflist("1.1.0", json::array({w.plugin()})));
  auto rt = w.runtime();
  auto versions = rt.versions(list);
  ASSERT_OK(versions);
  ASSERT_EQ(versions->size(), 1u);
  EXPECT_TRUE((*versions)[0].supports("1.1.0"));
  EXPECT_OK(rt.status(list));  // the network is made on the first ADD; nothing is in its way

  TestNetns a(w.dir() / "a"), b(w.dir() / "b");
  ASSERT_TRUE(a.ok() && b.ok());
  const uint16_t port = test_port(2);
  auto ra = rt.add(list, {"ctr-a", a.path(), "eth0", {}, port_caps(port, 8080)});
  ASSERT_OK(ra);
  EXPECT_EQ(ra->cni_version, "1.1.0");
  ASSERT_EQ(ra->interfaces.size(), 2u);
  EXPECT_EQ(ra->interfaces[1].sandbox, a.path());
  // Static address and MAC through the capabilities.
  auto rb = rt.add(list, {"ctr-b", b.path(), "eth0", {},
                          {{"ips", {w.address(77) + "/24"}}, {"mac", "02:11:22:33:44:55"}}});
  ASSERT_OK(rb);
  EXPECT_EQ(rb->ips.at(0).address, w.address(77) + "/24");
  EXPECT_EQ(b.mac_of("eth0"), "02:11:22:33:44:55");
  const std::string ip_a = ra->ips.at(0).address.substr(0, ra->ips.at(0).address.find('/'));
  EXPECT_TRUE(ping_from(a.path(), w.address(77)).value_or(false));
  EXPECT_TRUE(ping_from(b.path(), ip_a).value_or(false));
  auto listener = endpoint_in(a.path(), AF_INET, SOCK_STREAM, 8080);
  ASSERT_OK(listener);
  EXPECT_TRUE(tcp_reaches("", "127.0.0.1", port, listener->view()));
  EXPECT_OK(rt.check(list, {"ctr-a", a.path(), "eth0", {}, {}}));
  EXPECT_OK(rt.check(list, {"ctr-b", b.path(), "eth0", {}, {}}));
  EXPECT_OK(rt.status(list));

  // podns's own pods share the network (and the state): a pod made by the library pings them.
  auto web = pod::create(w.env, {.name = "web", .networks = {w.net()}});
  ASSERT_OK(web);
  ASSERT_EQ(web->networks.size(), 1u);
  EXPECT_TRUE(ping_from(web->netns_path, ip_a).value_or(false));
  auto d = pod::network_inspect(w.env, w.net());
  ASSERT_OK(d);
  EXPECT_EQ(d->members.size(), 3u);
  ASSERT_OK(pod::remove(w.env, "web"));

  // The plugin's GC verb: ctr-b is not valid any more, and is released.
  auto gc = w.exec_plugin("GC", "1.1.0", "", "",
                          w.plugin({{"cni.dev/valid-attachments", {{{"containerID", "ctr-a"}, {"ifname", "eth0"}}}}}));
  ASSERT_EQ(gc.exit_code, 0) << gc.out << gc.err;
  auto h = w.held();
  EXPECT_EQ(h.leases, std::vector<std::string>{ip_a});
  EXPECT_TRUE(no_eth0(b));
  // The runtime's GC: the cache still names ctr-b, so it DELs it (the plugin has nothing left to
  // do), then asks the plugin with the valid list.
  EXPECT_OK(rt.gc(list, {{"ctr-a", "eth0"}}));
  EXPECT_EQ(w.held().leases, std::vector<std::string>{ip_a});

  EXPECT_OK(rt.del(list, {"ctr-a", a.path(), "eth0", {}, {}}));
  EXPECT_OK(rt.del(list, {"ctr-a", a.path(), "eth0", {}, {}}));
  expect_nothing_left(w);
  EXPECT_TRUE(no_eth0(a));
}

TEST(PodnsBridge, ChainedWithTheReferenceTuningPluginThroughBothRuntimes) {
  REQUIRE_NETNS_TOOLS();
  REQUIRE_REFERENCE_PLUGINS();
  PluginWorld w;
  // tuning finds the interface through prevResult and changes it: the chain works only when
  // podns-bridge's result is right and passed on.
  json tuning = {{"type", "tuning"}, {"mtu", 1280}, {"sysctl", {{"net.ipv4.conf.eth0.arp_announce", "2"}}}};
  auto tuned = [](const TestNetns& ns) {
    auto link = ns.ip_json({"link", "show", "dev", "eth0"});
    auto sysctl = ns.exec({"sysctl", "-n", "net.ipv4.conf.eth0.arp_announce"}).out;
    return link.find("\"mtu\":1280") != std::string::npos && sysctl.rfind("2", 0) == 0;
  };

  // podns's runtime, 1.1.0 (tuning speaks up to 1.0.0: negotiated per plugin).
  {
    auto list = PluginWorld::parse(w.write_conflist("1.1.0", json::array({w.plugin(), tuning}), "chain-podns"));
    auto rt = w.runtime();
    TestNetns a(w.dir() / "a");
    ASSERT_TRUE(a.ok());
    auto r = rt.add(list, {"ctr-a", a.path(), "eth0", {}, {}});
    ASSERT_OK(r);
    EXPECT_TRUE(tuned(a));
    EXPECT_OK(rt.check(list, {"ctr-a", a.path(), "eth0", {}, {}}));
    EXPECT_OK(rt.del(list, {"ctr-a", a.path(), "eth0", {}, {}}));
    EXPECT_OK(rt.del(list, {"ctr-a", a.path(), "eth0", {}, {}}));
    expect_nothing_left(w);
  }
  // Go libcni, 1.0.0.
  if (::access(PODNS_LIBCNI_DRIVER, X_OK) != 0) GTEST_SKIP() << "podns-libcni was not built";
  {
    auto conf = w.write_conflist("1.0.0", json::array({w.plugin(), tuning}), "chain-libcni");
    TestNetns b(w.dir() / "b");
    ASSERT_TRUE(b.ok());
    auto r = w.libcni("add", conf, {"-netns", b.path(), "-id", "ctr-b"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(tuned(b));
    auto c = w.libcni("check", conf, {"-netns", b.path(), "-id", "ctr-b"});
    EXPECT_EQ(c.exit_code, 0) << c.err;
    for (int i = 0; i < 2; ++i) {
      auto d = w.libcni("del", conf, {"-netns", b.path(), "-id", "ctr-b"});
      EXPECT_EQ(d.exit_code, 0) << d.err;
    }
    expect_nothing_left(w);
  }
}

TEST(PodnsBridge, DelAfterTheNetnsIsGoneFreesEverything) {
  REQUIRE_NETNS_TOOLS();
  REQUIRE_LIBCNI();
  PluginWorld w;
  auto conf = w.write_conflist("1.0.0", json::array({w.plugin()}));
  auto a = std::make_unique<TestNetns>(w.dir() / "a");
  ASSERT_TRUE(a->ok());
  const std::string path = a->path();
  auto r = w.libcni("add", conf, {"-netns", path, "-id", "ctr-a", "-cap-args", port_caps(test_port(3), 80).dump()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string host_veth = json::parse(r.out)["interfaces"][0]["name"];
  auto h = w.held();
  EXPECT_EQ(h.leases.size(), 1u);
  EXPECT_EQ(h.forwards, 1u);
  a.reset();  // the runtime removed the netns before it called DEL
  auto d = w.libcni("del", conf, {"-netns", path, "-id", "ctr-a"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  expect_nothing_left(w);
  EXPECT_TRUE(host_link_gone(host_veth));
  // And without any netns path at all (a runtime that lost it): still a success.
  auto again = w.exec_plugin("DEL", "1.0.0", "ctr-a", "", w.plugin());
  EXPECT_EQ(again.exit_code, 0) << again.out;
}

}  // namespace
}  // namespace podns::test
