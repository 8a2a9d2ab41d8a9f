// Native networks end to end, on the real kernel: bridge, veth, IPAM, nftables NAT and port
// forwarding in process. Every test makes its own networks, bridges and nftables table (PodWorld)
// and removes them; traffic goes only to loopback and to namespaces the test made.
#include <gtest/gtest.h>

#include "native_fixture.hpp"
#include "podns/fw/firewall.hpp"
#include "podns/pin.hpp"
#include "traffic.hpp"

namespace podns::pod {
namespace {

using podns::test::ClientNetns;
using podns::test::PodWorld;
using podns::test::pings;
using podns::test::strip_prefix;

#define REQUIRE_NATIVE()                  \
  PODNS_REQUIRE_ROOT();                   \
  PODNS_REQUIRE_TOOL("nft", "nftables");  \
  PODNS_REQUIRE_TOOL("ping", "iputils-ping")

// A subnet of this test process's own: 10.(100+k).(pid%256).0/24.
std::string subnet(int k) { return fmt::format("10.{}.{}.0/24", 100 + k, ::getpid() % 256); }
std::string subnet6(int k) { return fmt::format("fd89:{:x}:{:x}::/64", 100 + k, ::getpid() % 65536); }

Result<network::Network> make_net(PodWorld& w, const std::string& name, int k, bool ipv6 = false,
                                  bool internal = false) {
  network::NetworkOptions o;
  o.name = name;
  o.bridge = test::unique_name("pb");
  o.subnets = {{subnet(k), "", ""}};
  if (ipv6) o.subnets.push_back({subnet6(k), "", ""});
  o.internal = internal;
  return network_create(w.env, o);
}

Result<PodInfo> make_pod(PodWorld& w, const std::string& name, const std::string& net,
                         std::vector<PortSpec> ports = {}) {
  CreateOptions o;
  o.name = name;
  o.networks = {net};
  o.ports = std::move(ports);
  return create(w.env, o);
}

std::string addr_of(const PodInfo& p, bool v6 = false) {
  for (const auto& a : p.networks.at(0).addresses)
    if (a.ipv6 == v6) return strip_prefix(a.address);
  return "";
}

uint16_t test_port(int k) { return static_cast<uint16_t>(20000 + (::getpid() % 2000) * 4 + k); }

TEST(NativeNetwork, TwoPodsPingEachOtherV4AndV6) {
  REQUIRE_NATIVE();
  PodWorld w;
  ASSERT_OK(make_net(w, "n1", 0, /*ipv6=*/true));
  auto a = make_pod(w, "a", "n1");
  ASSERT_OK(a);
  auto b = make_pod(w, "b", "n1");
  ASSERT_OK(b);
  ASSERT_EQ(a->networks[0].addresses.size(), 2u);
  EXPECT_NE(addr_of(*a), addr_of(*b));
  EXPECT_TRUE(pings(a->netns_path, addr_of(*b)));
  EXPECT_TRUE(pings(b->netns_path, addr_of(*a)));
  EXPECT_TRUE(pings(a->netns_path, addr_of(*b, true))) << addr_of(*b, true);
  EXPECT_TRUE(pings(b->netns_path, addr_of(*a, true)));
  EXPECT_OK(remove(w.env, "a"));
  EXPECT_OK(remove(w.env, "b"));
}

TEST(NativeNetwork, PodReachesTheHostAndTheOutsideThroughMasquerade) {
  REQUIRE_NATIVE();
  PodWorld w;
  ClientNetns client(w.dir());
  ASSERT_TRUE(client.ok()) << client.error();
  ASSERT_OK(make_net(w, "n1", 1));
  auto a = make_pod(w, "a", "n1");
  ASSERT_OK(a);
  EXPECT_TRUE(pings(a->netns_path, a->networks[0].addresses[0].gateway));
  EXPECT_TRUE(pings(a->netns_path, client.host_ip()));    // a host address that is not the gateway
  EXPECT_TRUE(pings(a->netns_path, client.client_ip()));  // routed out of the host, masqueraded
  EXPECT_OK(remove(w.env, "a"));
}

TEST(NativeNetwork, PublishedPortFromLoopbackHostAddressOutsideAndHairpin) {
  REQUIRE_NATIVE();
  PodWorld w;
  ClientNetns client(w.dir());
  ASSERT_TRUE(client.ok()) << client.error();
  ASSERT_OK(make_net(w, "n1", 2));
  const uint16_t tcp = test_port(0), udp = test_port(1);
  auto a = make_pod(w, "a", "n1", {{"", tcp, 8080, "tcp"}, {"", udp, 5353, "udp"}});
  ASSERT_OK(a);
  auto listener = test::endpoint_in(a->netns_path, AF_INET, SOCK_STREAM, 8080);
  ASSERT_OK(listener);
  auto receiver = test::endpoint_in(a->netns_path, AF_INET, SOCK_DGRAM, 5353);
  ASSERT_OK(receiver);
  EXPECT_TRUE(test::tcp_reaches("", "127.0.0.1", tcp, listener->view())) << "host -> 127.0.0.1";
  EXPECT_TRUE(test::tcp_reaches("", client.host_ip(), tcp, listener->view())) << "host -> host address";
  EXPECT_TRUE(test::tcp_reaches(client.path(), client.host_ip(), tcp, listener->view())) << "outside -> host";
  EXPECT_TRUE(test::tcp_reaches(a->netns_path, client.host_ip(), tcp, listener->view())) << "hairpin";
  EXPECT_TRUE(test::udp_reaches("", "127.0.0.1", udp, receiver->view())) << "udp from 127.0.0.1";
  EXPECT_TRUE(test::udp_reaches(client.path(), client.host_ip(), udp, receiver->view())) << "udp from outside";
  // Gone with the pod.
  listener->reset();
  receiver->reset();
  ASSERT_OK(remove(w.env, "a"));
  auto fw = fw::Firewall::open(w.env.nft_table);
  ASSERT_OK(fw);
  auto inst = fw->installed();
  ASSERT_OK(inst);
  EXPECT_TRUE(inst->forwards.empty());
}

TEST(NativeNetwork, PortBoundToOneHostAddressAndPortRanges) {
  REQUIRE_NATIVE();
  PodWorld w;
  ClientNetns client(w.dir());
  ASSERT_TRUE(client.ok()) << client.error();
  ASSERT_OK(make_net(w, "n1", 3));
  const uint16_t p = test_port(0);
  auto spec = parse_port_spec(fmt::format("127.0.0.1:{}-{}:7000-7001", p, p + 1));
  ASSERT_OK(spec);
  auto a = make_pod(w, "a", "n1", {*spec});
  ASSERT_OK(a);
  auto l0 = test::endpoint_in(a->netns_path, AF_INET, SOCK_STREAM, 7000);
  auto l1 = test::endpoint_in(a->netns_path, AF_INET, SOCK_STREAM, 7001);
  ASSERT_OK(l0);
  ASSERT_OK(l1);
  EXPECT_TRUE(test::tcp_reaches("", "127.0.0.1", p, l0->view()));
  EXPECT_TRUE(test::tcp_reaches("", "127.0.0.1", p + 1, l1->view()));
  // Bound to 127.0.0.1: not through the other host address.
  EXPECT_FALSE(test::tcp_reaches(client.path(), client.host_ip(), p, l0->view(), std::chrono::milliseconds(500)));
  l0->reset();
  l1->reset();
  EXPECT_OK(remove(w.env, "a"));
}

TEST(NativeNetwork, TwoNetworksAreIsolated) {
  REQUIRE_NATIVE();
  PodWorld w;
  ASSERT_OK(make_net(w, "n1", 4));
  ASSERT_OK(make_net(w, "n2", 5));
  auto a = make_pod(w, "a", "n1");
  ASSERT_OK(a);
  auto b = make_pod(w, "b", "n2");
  ASSERT_OK(b);
  EXPECT_TRUE(pings(a->netns_path, a->networks[0].addresses[0].gateway));
  EXPECT_FALSE(pings(a->netns_path, addr_of(*b)));
  EXPECT_FALSE(pings(b->netns_path, addr_of(*a)));
  EXPECT_OK(remove(w.env, "a"));
  EXPECT_OK(remove(w.env, "b"));
}

TEST(NativeNetwork, InternalNetworkHasNoEgress) {
  REQUIRE_NATIVE();
  PodWorld w;
  ClientNetns client(w.dir());
  ASSERT_TRUE(client.ok()) << client.error();
  ASSERT_OK(make_net(w, "in", 6, false, /*internal=*/true));
  auto a = make_pod(w, "a", "in");
  ASSERT_OK(a);
  auto b = make_pod(w, "b", "in");
  ASSERT_OK(b);
  EXPECT_TRUE(pings(a->netns_path, addr_of(*b)));              // inside the network: yes
  EXPECT_TRUE(pings(a->netns_path, a->networks[0].addresses[0].gateway));  // the host: yes
  EXPECT_FALSE(pings(a->netns_path, client.client_ip()));     // beyond the host: no
  EXPECT_OK(remove(w.env, "a"));
  EXPECT_OK(remove(w.env, "b"));
}

TEST(NativeNetwork, ReloadMendsADeletedTable) {
  REQUIRE_NATIVE();
  PodWorld w;
  ASSERT_OK(make_net(w, "n1", 7));
  const uint16_t tcp = test_port(0);
  auto a = make_pod(w, "a", "n1", {{"", tcp, 8080, "tcp"}});
  ASSERT_OK(a);
  auto listener = test::endpoint_in(a->netns_path, AF_INET, SOCK_STREAM, 8080);
  ASSERT_OK(listener);
  ASSERT_TRUE(test::tcp_reaches("", "127.0.0.1", tcp, listener->view()));
  // What `nft flush ruleset` does to podns's table, without touching anyone else's.
  ASSERT_EQ(test::run({"nft", "delete", "table", "inet", w.env.nft_table}).exit_code, 0);
  auto broken = network_inspect(w.env, "n1");
  ASSERT_OK(broken);
  EXPECT_FALSE(broken->firewall_table);
  EXPECT_FALSE(test::tcp_reaches("", "127.0.0.1", tcp, listener->view(), std::chrono::milliseconds(500)));
  auto done = network_reload(w.env);
  ASSERT_OK(done);
  auto mended = network_inspect(w.env, "n1");
  ASSERT_OK(mended);
  EXPECT_TRUE(mended->firewall_table);
  EXPECT_TRUE(mended->firewall_complete);
  EXPECT_EQ(mended->forwards_expected, 1);
  EXPECT_EQ(mended->forwards_missing, 0);
  EXPECT_TRUE(test::tcp_reaches("", "127.0.0.1", tcp, listener->view()));
  listener->reset();
  EXPECT_OK(remove(w.env, "a"));
}

TEST(NativeNetwork, StaticIpAndMac) {
  REQUIRE_NATIVE();
  PodWorld w;
  ASSERT_OK(make_net(w, "n1", 8));
  const std::string ip = fmt::format("10.108.{}.77", ::getpid() % 256);
  CreateOptions o;
  o.name = "a";
  o.networks = {"n1"};
  o.ip = ip;
  o.mac = "02:42:ac:11:00:32";
  auto a = create(w.env, o);
  ASSERT_OK(a);
  EXPECT_EQ(addr_of(*a), ip);
  EXPECT_EQ(a->networks[0].mac, "02:42:ac:11:00:32");
  auto live = inspect(w.env, "a");
  ASSERT_OK(live);
  ASSERT_TRUE(live->networks[0].live.has_value());
  EXPECT_EQ(live->networks[0].live->mac, "02:42:ac:11:00:32");
  // Taken: a clear error naming the holder, and nothing of the second pod remains.
  o.name = "b";
  o.mac.clear();
  auto b = create(w.env, o);
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message().find("a"), std::string::npos) << b.error().message();
  EXPECT_FALSE(inspect(w.env, "b"));
  // Outside the subnet.
  o.ip = "192.0.2.5";
  auto c = create(w.env, o);
  ASSERT_FALSE(c);
  EXPECT_TRUE(c.error().is(Errc::invalid_argument)) << c.error().message();
  EXPECT_OK(remove(w.env, "a"));
}

// A pod's MAC follows its address, so a neighbour that still caches the address of a removed pod
// reaches the new holder at once without a gratuitous ARP; and on an IPv4-only network eth0 has
// no IPv6 link-local address (no DAD, RS or MLD flooded to every pod), on a dual-stack one it has.
TEST(NativeNetwork, MacFollowsTheAddressAndIpv4OnlyPodsHaveNoIpv6LinkLocal) {
  REQUIRE_NATIVE();
  PodWorld w;
  ASSERT_OK(make_net(w, "n1", 14));
  const int third = ::getpid() % 256;
  const std::string ip = fmt::format("10.114.{}.77", third);
  const std::string mac = fmt::format("02:70:0a:72:{:02x}:4d", third);
  CreateOptions o;
  o.name = "a";
  o.networks = {"n1"};
  o.ip = ip;
  auto a = create(w.env, o);
  ASSERT_OK(a);
  EXPECT_EQ(a->networks[0].mac, mac);
  auto inet6 = [](const std::string& netns) {
    return test::run({"nsenter", "--net=" + netns, "cat", "/proc/net/if_inet6"}).out;
  };
  EXPECT_EQ(inet6(a->netns_path).find("eth0"), std::string::npos) << inet6(a->netns_path);

  auto c = make_pod(w, "c", "n1");
  ASSERT_OK(c);
  ASSERT_TRUE(pings(c->netns_path, ip));  // c now caches ip -> a's MAC
  ASSERT_OK(remove(w.env, "a"));
  o.name = "b";
  auto b = create(w.env, o);
  ASSERT_OK(b);
  EXPECT_EQ(b->networks[0].mac, mac);
  EXPECT_TRUE(pings(c->netns_path, ip)) << "the cached neighbour entry still holds";

  ASSERT_OK(make_net(w, "n6", 15, /*ipv6=*/true));
  auto d = make_pod(w, "d", "n6");
  ASSERT_OK(d);
  // The kernel adds the link-local address when the linkwatch work sees eth0's carrier, which
  // may be just after create returns.
  EXPECT_TRUE(test::eventually([&] { return inet6(d->netns_path).find("eth0") != std::string::npos; }))
      << inet6(d->netns_path);
  for (const char* n : {"b", "c", "d"}) EXPECT_OK(remove(w.env, n));
}

TEST(NativeNetwork, HostPortTakenByAnotherPodChangesNothing) {
  REQUIRE_NATIVE();
  PodWorld w;
  ASSERT_OK(make_net(w, "n1", 9));
  const uint16_t tcp = test_port(0);
  ASSERT_OK(make_pod(w, "a", "n1", {{"", tcp, 80, "tcp"}}));
  auto b = make_pod(w, "b", "n1", {{"127.0.0.1", tcp, 81, "tcp"}});
  ASSERT_FALSE(b);
  EXPECT_TRUE(b.error().is(Errc::already_exists)) << b.error().message();
  auto pins = list_pins(w.env.paths);
  ASSERT_OK(pins);
  for (const auto& p : *pins) EXPECT_EQ(p.path.find("/b"), std::string::npos) << p.path;
  auto fw = fw::Firewall::open(w.env.nft_table);
  ASSERT_OK(fw);
  auto inst = fw->installed();
  ASSERT_OK(inst);
  ASSERT_EQ(inst->forwards.size(), 1u);
  EXPECT_EQ(inst->forwards[0].pod_port, 80);
  EXPECT_OK(remove(w.env, "a"));
}

TEST(NativeNetwork, BadNetworkDefinitionsAreRefusedClearly) {
  REQUIRE_NATIVE();
  PodWorld w;
  ASSERT_OK(make_net(w, "n1", 10));
  struct Case {
    const char* what;
    network::NetworkOptions o;
    Errc code;
  };
  std::vector<Case> cases = {
      {"overlap", {"x1", {{subnet(10), "", ""}}}, Errc::invalid_argument},
      {"host bits", {"x2", {{"10.250.0.1/24", "", ""}}}, Errc::invalid_argument},
      {"too small", {"x3", {{"10.250.0.0/31", "", ""}}}, Errc::invalid_argument},
      {"gateway outside", {"x4", {{"10.250.0.0/24", "10.251.0.1", ""}}}, Errc::invalid_argument},
      {"range outside", {"x5", {{"10.250.0.0/24", "", "10.251.0.0/28"}}}, Errc::invalid_argument},
      {"not a cidr", {"x6", {{"banana", "", ""}}}, Errc::invalid_argument},
      {"bad name", {"-x", {}}, Errc::invalid_name},
      {"exists", {"n1", {}}, Errc::already_exists},
      {"bridge is the loopback", {.name = "x7", .bridge = "lo"}, Errc::already_exists},
      {"bad mtu", {.name = "x8", .mtu = 20}, Errc::invalid_argument},
  };
  for (const auto& c : cases) {
    auto r = network_create(w.env, c.o);
    ASSERT_FALSE(r) << c.what;
    EXPECT_TRUE(r.error().is(c.code)) << c.what << ": " << r.error().message();
  }
  auto nets = network_list(w.env);
  ASSERT_OK(nets);
  EXPECT_EQ(nets->size(), 1u);
  // A CNI conflist of the same name.
  w.write_bridge_network("cninet", 200);
  auto clash = network_create(w.env, {"cninet", {}});
  ASSERT_FALSE(clash);
  EXPECT_TRUE(clash.error().is(Errc::already_exists)) << clash.error().message();
}

TEST(NativeNetwork, RemoveInUseIsRefusedAndForceRemovesThePods) {
  REQUIRE_NATIVE();
  PodWorld w;
  auto n = make_net(w, "n1", 11);
  ASSERT_OK(n);
  ASSERT_OK(make_pod(w, "a", "n1"));
  auto busy = network_remove(w.env, "n1", false);
  ASSERT_FALSE(busy);
  EXPECT_TRUE(busy.error().is(Errc::busy));
  EXPECT_NE(busy.error().message().find("a"), std::string::npos);
  ASSERT_OK(network_remove(w.env, "n1", true));
  EXPECT_FALSE(inspect(w.env, "a"));
  EXPECT_NE(test::run({"ip", "link", "show", n->bridge}).exit_code, 0) << "bridge left";
  EXPECT_NE(test::run({"nft", "list", "table", "inet", w.env.nft_table}).exit_code, 0) << "table left";
  EXPECT_FALSE(network_remove(w.env, "n1", false));
  EXPECT_OK(network_remove(w.env, "n1", true));
}

TEST(NativeNetwork, RuleCountDoesNotGrowWithPods) {
  REQUIRE_NATIVE();
  PodWorld w;
  ASSERT_OK(make_net(w, "n1", 12));
  auto rules = [&] {
    auto out = test::run({"nft", "-a", "list", "table", "inet", w.env.nft_table}).out;
    int n = 0;
    for (size_t p = 0; (p = out.find("# handle", p)) != std::string::npos; ++p) ++n;
    return n;
  };
  ASSERT_OK(make_pod(w, "p0", "n1", {{"", test_port(0), 80, "tcp"}}));
  int first = rules();
  for (int i = 1; i < 10; ++i)
    ASSERT_OK(make_pod(w, fmt::format("p{}", i), "n1", {{"", test_port(0) + 2000 + i, 80, "tcp"}}));
  EXPECT_EQ(rules(), first);
  auto fw = fw::Firewall::open(w.env.nft_table);
  ASSERT_OK(fw);
  auto inst = fw->installed();
  ASSERT_OK(inst);
  EXPECT_EQ(inst->forwards.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_OK(remove(w.env, fmt::format("p{}", i)));
}

TEST(NativeNetwork, RebootReleasesEveryPodAndBringsTheNetworkBack) {
  REQUIRE_NATIVE();
  PodWorld w;
  const std::string boot = w.dir() / "boot_id";
  PodWorld::write_file(boot, "boot-1\n");
  w.env.boot_id_path = boot;
  auto n = make_net(w, "n1", 13);
  ASSERT_OK(n);
  auto a = make_pod(w, "a", "n1", {{"", test_port(0), 80, "tcp"}});
  ASSERT_OK(a);
  // The reboot: pins, the bridge (and the veths with it) and the table vanish; the state stays.
  auto pins = list_pins(w.env.paths);
  ASSERT_OK(pins);
  for (const auto& p : *pins) ASSERT_OK(remove_pin(p.path, pin_dir(w.env.paths, p.type)));
  test::run({"ip", "link", "del", n->bridge});
  test::run({"nft", "delete", "table", "inet", w.env.nft_table});
  PodWorld::write_file(boot, "boot-2\n");
  // The first command of the new boot: the old pod is gone, its lease released.
  auto pods = list(w.env);
  ASSERT_OK(pods);
  EXPECT_TRUE(pods->empty());
  auto d = network_inspect(w.env, "n1");
  ASSERT_OK(d);
  EXPECT_TRUE(d->members.empty());
  // The network works again on first use: bridge and table come back.
  auto b = make_pod(w, "b", "n1", {{"", test_port(0), 80, "tcp"}});
  ASSERT_OK(b);
  auto listener = test::endpoint_in(b->netns_path, AF_INET, SOCK_STREAM, 80);
  ASSERT_OK(listener);
  EXPECT_TRUE(test::tcp_reaches("", "127.0.0.1", test_port(0), listener->view()));
  listener->reset();
  EXPECT_OK(remove(w.env, "b"));
}

TEST(NativeNetwork, DefaultNetworkIsNativeAndAdoptsLegacyCniPods) {
  REQUIRE_NATIVE();
  PODNS_REQUIRE_TOOL("/usr/lib/cni/bridge", "containernetworking-plugins");
  PodWorld w;
  // A pod of the old default network: the same name, bridge and subnet through the CNI conflist.
  auto conflist = default_network_conflist(w.env.default_network);
  ASSERT_OK(conflist);
  PodWorld::write_file(w.env.cni_conf_dir + "/podns.conflist", conflist->dump(2));
  PodEnv legacy = w.env;
  legacy.default_network.name = "legacy-default";  // so "podns" resolves to the conflist
  CreateOptions o;
  o.name = "old";
  o.networks = {"podns"};
  auto old = create(legacy, o);
  ASSERT_OK(old);
  std::filesystem::remove(w.env.cni_conf_dir + "/podns.conflist");
  // Now the default network is native: it adopts the bridge and the old pod's address.
  CreateOptions n;
  n.name = "new";
  auto fresh = create(w.env, n);
  ASSERT_OK(fresh);
  auto nets = network_list(w.env);
  ASSERT_OK(nets);
  ASSERT_EQ(nets->size(), 1u);
  EXPECT_EQ((*nets)[0].driver, "bridge");
  EXPECT_NE(addr_of(*fresh), addr_of(*old));
  EXPECT_TRUE(pings(fresh->netns_path, addr_of(*old)));
  EXPECT_OK(remove(w.env, "old"));
  EXPECT_OK(remove(w.env, "new"));
}

}  // namespace
}  // namespace podns::pod
