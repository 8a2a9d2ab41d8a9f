// Real-kernel tests of the rtnetlink client: every answer is checked against what iproute2 says
// about the same netns (`ip -j link`, `ip -s -j link`, `ip -j addr`, `ip -j route`).
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/mount.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "netns_fixture.hpp"
#include "podns/net/client.hpp"
#include "test_support.hpp"

namespace podns::net {
namespace {

using nlohmann::json;
using test::TempDir;
using test::TestNetns;

json ip_link_json(const TestNetns& ns, const std::string& dev, bool stats = false) {
  std::vector<std::string> args = {"link", "show", "dev", dev};
  if (stats) args.insert(args.begin(), "-s");
  json j = json::parse(ns.ip_json(args), nullptr, false);
  return j.is_array() && !j.empty() ? j[0] : json();
}

LinkStats stats_from_ip(const json& link) {
  const json& s = link.at("stats64");
  return LinkStats{s["rx"]["bytes"], s["rx"]["packets"], s["rx"]["errors"], s["rx"]["dropped"],
                   s["tx"]["bytes"], s["tx"]["packets"], s["tx"]["errors"], s["tx"]["dropped"]};
}

std::string current_netns() {
  char buf[64] = {};
  ssize_t n = ::readlink("/proc/thread-self/ns/net", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, n) : std::string();
}

TEST(NetlinkClient, FreshNetnsHasOnlyLoopbackAsIpSeesIt) {
  REQUIRE_NETNS_TOOLS();
  TempDir dir("net");
  TestNetns ns(dir / "ns");
  ASSERT_TRUE(ns.ok()) << ns.error();
  auto client = open_netlink_client_in(ns.path());
  ASSERT_OK(client);
  auto links = (*client)->links();
  ASSERT_OK(links);
  ASSERT_EQ(links->size(), 1u);
  const Link& lo = (*links)[0];
  json ip = ip_link_json(ns, "lo");
  EXPECT_EQ(lo.index, ip["ifindex"].get<int>());
  EXPECT_EQ(lo.name, "lo");
  EXPECT_TRUE(lo.is_loopback());
  EXPECT_FALSE(lo.is_up());
  EXPECT_EQ(lo.mtu, ip["mtu"].get<std::uint32_t>());
  EXPECT_EQ(to_string(lo.operstate), ip["operstate"].get<std::string>());
  EXPECT_EQ(lo.mac, ip["address"].get<std::string>());
  EXPECT_EQ(lo.kind, "");
  ASSERT_TRUE(lo.stats.has_value());
  EXPECT_EQ(*lo.stats, LinkStats{});
}

TEST(NetlinkClient, ReportsKindMacMtuMasterAndStateOfVethAndBridge) {
  REQUIRE_NETNS_TOOLS();
  TempDir dir("net");
  TestNetns ns(dir / "ns");
  ASSERT_TRUE(ns.ok()) << ns.error();
  ASSERT_EQ(ns.ip({"link", "add", "br0", "type", "bridge"}), "");
  ASSERT_EQ(ns.ip({"link", "add", "va", "mtu", "1400", "type", "veth", "peer", "name", "vb"}), "");
  ASSERT_EQ(ns.ip({"link", "set", "va", "master", "br0"}), "");
  ASSERT_EQ(ns.ip({"link", "set", "va", "up"}), "");
  ASSERT_EQ(ns.ip({"link", "set", "vb", "up"}), "");
  ASSERT_EQ(ns.ip({"link", "set", "br0", "up"}), "");

  auto client = open_netlink_client_in(ns.path());
  ASSERT_OK(client);
  auto br = (*client)->link("br0");
  ASSERT_OK(br);
  auto va = (*client)->link("va");
  ASSERT_OK(va);
  json ip_va = ip_link_json(ns, "va");
  json ip_br = ip_link_json(ns, "br0");
  EXPECT_EQ(br->kind, "bridge");
  EXPECT_EQ(va->kind, "veth");
  EXPECT_EQ(va->index, ip_va["ifindex"].get<int>());
  EXPECT_EQ(va->mac, ip_va["address"].get<std::string>());
  EXPECT_EQ(br->mac, ip_br["address"].get<std::string>());
  EXPECT_EQ(va->mtu, 1400u);
  EXPECT_EQ(va->master, br->index);
  auto vb = (*client)->link("vb");
  ASSERT_OK(vb);
  EXPECT_EQ(va->link, vb->index);
  EXPECT_EQ(va->link_netnsid, -1);  // peer in the same netns
  EXPECT_EQ(ip_va["master"].get<std::string>(), "br0");
  EXPECT_TRUE(va->is_up());
  EXPECT_EQ(to_string(va->operstate), ip_va["operstate"].get<std::string>());

  // The dump agrees with the single lookups.
  auto links = (*client)->links();
  ASSERT_OK(links);
  ASSERT_EQ(links->size(), 4u);  // lo, br0, va, vb
  for (const Link& l : *links) {
    auto one = (*client)->link(l.name);
    ASSERT_OK(one);
    EXPECT_EQ(one->index, l.index);
    EXPECT_EQ(one->mac, l.mac);
    EXPECT_EQ(one->kind, l.kind);
  }
}

TEST(NetlinkClient, UnknownLinkIsNotFoundAndBadNameIsRefused) {
  REQUIRE_NETNS_TOOLS();
  TempDir dir("net");
  TestNetns ns(dir / "ns");
  ASSERT_TRUE(ns.ok()) << ns.error();
  auto client = open_netlink_client_in(ns.path());
  ASSERT_OK(client);
  auto missing = (*client)->link("eth9");
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().is(Errc::not_found)) << missing.error().message();
  EXPECT_EQ(missing.error().message(), "link eth9: not found");
  auto bad = (*client)->link("a-name-much-too-long");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(Errc::invalid_name)) << bad.error().message();
  // The socket is still usable after both failures.
  EXPECT_OK((*client)->link("lo"));
}

TEST(NetlinkClient, AddressesCarryFamilyAndPrefixLikeIpAddr) {
  REQUIRE_NETNS_TOOLS();
  TempDir dir("net");
  TestNetns ns(dir / "ns");
  ASSERT_TRUE(ns.ok()) << ns.error();
  ns.sysctl("net.ipv6.conf.all.disable_ipv6=0");
  ns.sysctl("net.ipv6.conf.default.disable_ipv6=0");
  ASSERT_EQ(ns.ip({"link", "add", "va", "type", "veth", "peer", "name", "vb"}), "");
  ASSERT_EQ(ns.ip({"addr", "add", "10.77.0.1/24", "dev", "va"}), "");
  ASSERT_EQ(ns.ip({"addr", "add", "10.77.1.1/16", "dev", "va", "label", "va:one"}), "");
  ASSERT_EQ(ns.ip({"addr", "add", "fd77::1/64", "dev", "va", "nodad"}), "");

  auto client = open_netlink_client_in(ns.path());
  ASSERT_OK(client);
  auto va = (*client)->link("va");
  ASSERT_OK(va);
  auto all = (*client)->addresses();
  ASSERT_OK(all);
  std::vector<std::string> ours;
  for (const Address& a : *all)
    if (a.index == va->index) ours.push_back(a.cidr());
  std::vector<std::string> theirs;
  json ip = json::parse(ns.ip_json({"addr", "show", "dev", "va"}));
  for (const json& a : ip[0]["addr_info"])
    theirs.push_back(a["local"].get<std::string>() + "/" + std::to_string(a["prefixlen"].get<int>()));
  std::sort(ours.begin(), ours.end());
  std::sort(theirs.begin(), theirs.end());
  EXPECT_EQ(ours, theirs);
  EXPECT_NE(std::find(ours.begin(), ours.end(), "fd77::1/64"), ours.end());

  auto v4 = (*client)->addresses(AF_INET);
  ASSERT_OK(v4);
  ASSERT_EQ(v4->size(), 2u);
  for (const Address& a : *v4) EXPECT_EQ(a.family, AF_INET);
  EXPECT_EQ((*v4)[1].label, "va:one");
  auto v6 = (*client)->addresses(AF_INET6);
  ASSERT_OK(v6);
  for (const Address& a : *v6) EXPECT_EQ(a.family, AF_INET6);
  auto it = std::find_if(v6->begin(), v6->end(), [](const Address& a) { return a.address == "fd77::1"; });
  ASSERT_NE(it, v6->end());
  EXPECT_EQ(it->prefix_len, 64);
  EXPECT_EQ(it->scope, RT_SCOPE_UNIVERSE);
}

TEST(NetlinkClient, RoutesOfTheMainTableLikeIpRoute) {
  REQUIRE_NETNS_TOOLS();
  TempDir dir("net");
  TestNetns ns(dir / "ns");
  ASSERT_TRUE(ns.ok()) << ns.error();
  ASSERT_EQ(ns.ip({"link", "add", "va", "type", "veth", "peer", "name", "vb"}), "");
  ASSERT_EQ(ns.ip({"addr", "add", "10.77.0.1/24", "dev", "va"}), "");
  ASSERT_EQ(ns.ip({"link", "set", "va", "up"}), "");
  ASSERT_EQ(ns.ip({"link", "set", "vb", "up"}), "");
  ASSERT_EQ(ns.ip({"route", "add", "default", "via", "10.77.0.254", "dev", "va", "metric", "7"}), "");
  ASSERT_EQ(ns.ip({"route", "add", "10.99.0.0/16", "via", "10.77.0.253"}), "");

  auto client = open_netlink_client_in(ns.path());
  ASSERT_OK(client);
  auto va = (*client)->link("va");
  ASSERT_OK(va);
  auto routes = (*client)->routes(AF_INET);
  ASSERT_OK(routes);
  json ip = json::parse(ns.ip_json({"-4", "route", "show", "table", "main"}));
  ASSERT_EQ(routes->size(), ip.size()) << ip.dump();
  for (std::size_t i = 0; i < ip.size(); ++i) {
    const Route& r = (*routes)[i];
    SCOPED_TRACE(ip[i].dump());
    EXPECT_EQ(r.destination(), ip[i]["dst"].get<std::string>());
    EXPECT_EQ(r.gateway, ip[i].value("gateway", ""));
    EXPECT_EQ(r.prefsrc, ip[i].value("prefsrc", ""));
    EXPECT_EQ(r.oif, va->index);
    EXPECT_EQ(r.table, kTableMain);
  }
  auto def = std::find_if(routes->begin(), routes->end(), [](const Route& r) { return r.is_default(); });
  ASSERT_NE(def, routes->end());
  EXPECT_EQ(def->gateway, "10.77.0.254");
  EXPECT_EQ(def->priority, 7u);

  // The local table holds the address's own /32; all tables include it, main does not.
  auto every = (*client)->routes(AF_INET, kAllTables);
  ASSERT_OK(every);
  EXPECT_GT(every->size(), routes->size());
  EXPECT_TRUE(std::any_of(every->begin(), every->end(), [](const Route& r) { return r.table == kTableLocal; }));
}

TEST(NetlinkClient, Stats64CountTrafficExactlyAsIpDoes) {
  REQUIRE_NETNS_TOOLS();
  TempDir dir("net");
  TestNetns a(dir / "a");
  TestNetns b(dir / "b");
  ASSERT_TRUE(a.ok()) << a.error();
  ASSERT_TRUE(b.ok()) << b.error();
  ASSERT_EQ(a.ip({"link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", b.path()}), "");
  ASSERT_EQ(a.ip({"addr", "add", "10.78.0.1/24", "dev", "va"}), "");
  ASSERT_EQ(b.ip({"addr", "add", "10.78.0.2/24", "dev", "vb"}), "");
  ASSERT_EQ(a.ip({"link", "set", "va", "up"}), "");
  ASSERT_EQ(b.ip({"link", "set", "vb", "up"}), "");
  ASSERT_EQ(a.wait_up("va"), "");
  ASSERT_EQ(b.wait_up("vb"), "");
  // Static neighbours both ways: no ARP, so every datagram is counted by the time sendto()
  // returns, and b's ICMP port-unreachable answers do not make a ask a's MAC.
  ASSERT_EQ(a.ip({"neigh", "replace", "10.78.0.2", "lladdr", b.mac_of("vb"), "dev", "va", "nud", "permanent"}), "");
  ASSERT_EQ(b.ip({"neigh", "replace", "10.78.0.1", "lladdr", a.mac_of("va"), "dev", "vb", "nud", "permanent"}), "");

  auto ca = open_netlink_client_in(a.path());
  ASSERT_OK(ca);
  auto cb = open_netlink_client_in(b.path());
  ASSERT_OK(cb);
  ASSERT_EQ(test::send_udp_from(a.path(), "10.78.0.2", 9, 5, 200), 5);

  // Read iproute2 before and after ours; when both agree nothing moved in between, and ours must
  // be exactly that. (A late ARP or ICMP reply can move the counters; then read again.)
  bool compared = false;
  for (int attempt = 0; attempt < 40 && !compared; ++attempt) {
    LinkStats ip_a1 = stats_from_ip(ip_link_json(a, "va", true));
    LinkStats ip_b1 = stats_from_ip(ip_link_json(b, "vb", true));
    auto va = (*ca)->link("va");
    auto vb = (*cb)->link("vb");
    ASSERT_OK(va);
    ASSERT_OK(vb);
    LinkStats ip_a2 = stats_from_ip(ip_link_json(a, "va", true));
    LinkStats ip_b2 = stats_from_ip(ip_link_json(b, "vb", true));
    if (ip_a1 != ip_a2 || ip_b1 != ip_b2) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    compared = true;
    ASSERT_TRUE(va->stats && vb->stats);
    // Each end names its peer's ifindex, and the peer lives in another netns.
    EXPECT_EQ(va->link, vb->index);
    EXPECT_EQ(vb->link, va->index);
    EXPECT_GE(va->link_netnsid, 0);
    EXPECT_EQ(*va->stats, ip_a1);
    EXPECT_EQ(*vb->stats, ip_b1);
    // Our 5 datagrams: 200 payload + 8 UDP + 20 IP + 14 Ethernet each. (b may answer with ICMP
    // port unreachable, so only a lower bound on what comes back.)
    EXPECT_EQ(va->stats->tx_packets, 5u);
    EXPECT_EQ(va->stats->tx_bytes, 5u * 242u);
    EXPECT_EQ(vb->stats->rx_packets, 5u);
    EXPECT_EQ(vb->stats->rx_bytes, 5u * 242u);
    EXPECT_EQ(va->stats->tx_errors, 0u);
  }
  EXPECT_TRUE(compared) << "counters never settled";
}

TEST(NetlinkClient, OpenInRefusesWhatIsNotANetworkNamespace) {
  PODNS_REQUIRE_ROOT();
  TempDir dir("net");
  std::ofstream(dir / "plain") << "x";
  auto plain = open_netlink_client_in(dir / "plain");
  ASSERT_FALSE(plain);
  EXPECT_TRUE(plain.error().is(Errc::not_a_namespace)) << plain.error().message();
  EXPECT_NE(plain.error().message().find(dir / "plain"), std::string::npos) << plain.error().message();

  auto uts = open_netlink_client_in(std::string("/proc/self/ns/uts"));
  ASSERT_FALSE(uts);
  EXPECT_TRUE(uts.error().is(Errc::wrong_namespace_type)) << uts.error().message();

  auto missing = open_netlink_client_in(dir / "nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().sys_errno(), ENOENT);
  EXPECT_EQ(missing.error().message(),
            "open rtnetlink socket in netns: open namespace " + (dir / "nope") + ": No such file or directory");
}

TEST(NetlinkClient, SocketStaysInItsNetnsForEveryThreadAndTheCallerNeverMoves) {
  REQUIRE_NETNS_TOOLS();
  TempDir dir("net");
  TestNetns ns(dir / "ns");
  ASSERT_TRUE(ns.ok()) << ns.error();
  ASSERT_EQ(ns.ip({"link", "add", "podveth0", "type", "veth", "peer", "name", "podveth1"}), "");
  const std::string before = current_netns();
  auto client = open_netlink_client_in(ns.path());
  ASSERT_OK(client);
  EXPECT_EQ(current_netns(), before);

  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto l = (*client)->link("podveth0");
        auto all = (*client)->links();
        if (l && all && all->size() == 3) ++good;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 200);
  EXPECT_EQ(current_netns(), before);
  // And the host netns does not have it.
  auto host = open_netlink_client();
  ASSERT_OK(host);
  EXPECT_FALSE((*host)->link("podveth0"));
  EXPECT_OK((*host)->link("lo"));
}

TEST(NetlinkClient, OpenClientKeepsItsNetnsAliveAfterThePinIsGone) {
  REQUIRE_NETNS_TOOLS();
  TempDir dir("net");
  auto ns = std::make_unique<TestNetns>(dir / "ns");
  ASSERT_TRUE(ns->ok()) << ns->error();
  ASSERT_EQ(ns->ip({"link", "add", "va", "type", "veth", "peer", "name", "vb"}), "");
  auto client = open_netlink_client_in(ns->path());
  ASSERT_OK(client);
  ns.reset();  // unpinned: only our socket holds the netns now
  auto links = (*client)->links();
  ASSERT_OK(links);
  EXPECT_EQ(links->size(), 3u);
}

TEST(NetlinkClient, OpenInByBorrowedFd) {
  REQUIRE_NETNS_TOOLS();
  TempDir dir("net");
  TestNetns ns(dir / "ns");
  ASSERT_TRUE(ns.ok()) << ns.error();
  UniqueFd fd(::open(ns.path().c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd);
  auto client = open_netlink_client_in(fd.view());
  ASSERT_OK(client);
  auto links = (*client)->links();
  ASSERT_OK(links);
  EXPECT_EQ(links->size(), 1u);
  auto bad = open_netlink_client_in(FdView(-1));
  EXPECT_FALSE(bad);
}

}  // namespace
}  // namespace podns::net
