// The mutating half of net::Client on the real kernel. Nothing is created in the host netns: a
// client opened inside one test netns plays the host (bridge, host ends of veths), and the peers
// go into a second (and third) test netns playing pods. Traffic flows only between those.
// FakeClient's recording and armed failures are at the end.
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "netns_fixture.hpp"
#include "podns/net/client.hpp"
#include "fake_client.hpp"
#include "test_support.hpp"

namespace podns::net {
namespace {

using nlohmann::json;
using test::TempDir;
using test::TestNetns;

// A "host" netns with a client in it and a "pod" netns (fd + client) for veth peers.
struct HostAndPod {
  TempDir dir{"netw"};
  TestNetns host{dir / "host"};
  TestNetns pod{dir / "pod"};
  UniqueFd pod_fd;
  std::unique_ptr<Client> client;      // in `host`
  std::unique_ptr<Client> pod_client;  // in `pod`
  std::string error;

  HostAndPod() {
    if (!host.ok()) error = host.error();
    else if (!pod.ok()) error = pod.error();
    if (!error.empty()) return;
    pod_fd = UniqueFd(::open(pod.path().c_str(), O_RDONLY | O_CLOEXEC));
    if (!pod_fd) error = "open " + pod.path();
    auto c = open_netlink_client_in(host.path());
    auto p = open_netlink_client_in(pod.path());
    if (!c || !p) {
      error = !c ? c.error().message() : p.error().message();
      return;
    }
    client = std::move(*c);
    pod_client = std::move(*p);
  }
  bool ok() const { return error.empty(); }

  // Packets the host end `name` has received (what the pod end sent); ~0 when it cannot be read.
  unsigned long long host_rx(const std::string& name) const {
    auto l = client->link(name);
    return l && l->stats ? l->stats->rx_packets : ~0ull;
  }

  VethRequest veth(std::string host_name, std::string peer_name = "eth0") const {
    VethRequest r;
    r.host_name = std::move(host_name);
    r.peer_name = std::move(peer_name);
    r.peer_netns = pod_fd.view();
    return r;
  }
};

std::vector<std::string> names(Client& c) {
  std::vector<std::string> out;
  auto links = c.links();
  if (links)
    for (const Link& l : *links) out.push_back(l.name);
  return out;
}

std::string read_in(const TestNetns& ns, const std::string& file) {
  auto r = ns.exec({"cat", file});
  while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
  return r.out;
}

// Wait (up to `ms`) until `pred` holds.
template <class Pred>
bool eventually(Pred pred, int ms = 2000) {
  for (int waited = 0; waited < ms; waited += 10) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

TEST(LinkWrite, BridgeIsCreatedDownWithItsMtuAndItsIndexReturned) {
  REQUIRE_NETNS_TOOLS();
  HostAndPod t;
  ASSERT_TRUE(t.ok()) << t.error;
  auto index = t.client->create_bridge(BridgeRequest{"br0", 1400});
  ASSERT_OK(index);
  auto br = t.client->link("br0");
  ASSERT_OK(br);
  EXPECT_EQ(br->index, *index);
  EXPECT_EQ(br->kind, "bridge");
  EXPECT_EQ(br->mtu, 1400u);
  EXPECT_FALSE(br->is_up());

  auto again = t.client->create_bridge(BridgeRequest{"br0", 0});
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().is(Errc::already_exists)) << again.error().message();
  EXPECT_EQ(again.error().message().rfind("create bridge br0: ", 0), 0u) << again.error().message();
}

TEST(LinkWrite, VethIsBornWithItsPeerInThePodNetnsEnslavedAndUpInOneCall) {
  REQUIRE_NETNS_TOOLS();
  HostAndPod t;
  ASSERT_TRUE(t.ok()) << t.error;
  auto br = t.client->create_bridge(BridgeRequest{"br0", 0});
  ASSERT_OK(br);
  VethRequest req = t.veth("vethab12");
  req.master = *br;
  req.mtu = 1450;
  req.peer_mac = "02:42:0a:59:00:05";
  auto index = t.client->create_veth(req);
  ASSERT_OK(index);

  auto host_end = t.client->link("vethab12");
  ASSERT_OK(host_end);
  EXPECT_EQ(host_end->index, *index);
  EXPECT_EQ(host_end->kind, "veth");
  EXPECT_EQ(host_end->master, *br);
  EXPECT_TRUE(host_end->is_up());
  EXPECT_EQ(host_end->mtu, 1450u);
  EXPECT_GE(host_end->link_netnsid, 0);  // the peer lives in another netns

  auto eth0 = t.pod_client->link("eth0");
  ASSERT_OK(eth0);
  EXPECT_EQ(eth0->kind, "veth");
  EXPECT_EQ(eth0->mac, "02:42:0a:59:00:05");
  EXPECT_EQ(eth0->mtu, 1450u);
  EXPECT_FALSE(eth0->is_up());
  EXPECT_EQ(host_end->link, eth0->index);
  EXPECT_EQ(eth0->link, host_end->index);
  // Under its final name from birth: no temporary name anywhere, nothing moved.
  EXPECT_EQ(names(*t.pod_client), (std::vector<std::string>{"lo", "eth0"}));
  EXPECT_EQ(names(*t.client), (std::vector<std::string>{"lo", "br0", "vethab12"}));
  // iproute2 agrees on the master.
  json ip = json::parse(t.host.ip_json({"link", "show", "dev", "vethab12"}), nullptr, false);
  ASSERT_TRUE(ip.is_array() && !ip.empty());
  EXPECT_EQ(ip[0].value("master", ""), "br0");
  // One queue each way on both ends, asked for up front. The kernel's default is a queue per CPU,
  // cut to one after the device is registered, which costs an RCU grace period per end.
  for (const auto& [ns, dev] : {std::pair{&t.host, "vethab12"}, std::pair{&t.pod, "eth0"}}) {
    SCOPED_TRACE(dev);
    json d = json::parse(ns->ip_json({"-d", "link", "show", "dev", dev}), nullptr, false);
    ASSERT_TRUE(d.is_array() && !d.empty());
    EXPECT_EQ(d[0].value("num_tx_queues", 0), 1);
    EXPECT_EQ(d[0].value("num_rx_queues", 0), 1);
  }
}

TEST(LinkWrite, VethWithKernelDefaultsAndHostEndDown) {
  REQUIRE_NETNS_TOOLS();
  HostAndPod t;
  ASSERT_TRUE(t.ok()) << t.error;
  VethRequest req = t.veth("vethcd34", "net1");
  req.host_up = false;
  auto index = t.client->create_veth(req);
  ASSERT_OK(index);
  auto host_end = t.client->link("vethcd34");
  ASSERT_OK(host_end);
  EXPECT_FALSE(host_end->is_up());
  EXPECT_EQ(host_end->master, 0);
  EXPECT_EQ(host_end->mtu, 1500u);
  auto net1 = t.pod_client->link("net1");
  ASSERT_OK(net1);
  EXPECT_EQ(net1->mac.size(), 17u);  // random, chosen by the kernel
}

TEST(LinkWrite, TakenNamesAreAlreadyExistsAndLeaveNothingHalfMade) {
  REQUIRE_NETNS_TOOLS();
  HostAndPod t;
  ASSERT_TRUE(t.ok()) << t.error;
  ASSERT_OK(t.client->create_veth(t.veth("vethab12", "eth0")));

  // The host name is taken.
  auto host_taken = t.client->create_veth(t.veth("vethab12", "eth1"));
  ASSERT_FALSE(host_taken);
  EXPECT_TRUE(host_taken.error().is(Errc::already_exists)) << host_taken.error().message();
  EXPECT_EQ(host_taken.error().message().rfind("create veth vethab12 (peer eth1): ", 0), 0u)
      << host_taken.error().message();

  // The peer name is taken inside the pod: the whole pair is refused, no host end is left over.
  auto peer_taken = t.client->create_veth(t.veth("vethef56", "eth0"));
  ASSERT_FALSE(peer_taken);
  EXPECT_TRUE(peer_taken.error().is(Errc::already_exists)) << peer_taken.error().message();
  EXPECT_EQ(names(*t.client), (std::vector<std::string>{"lo", "vethab12"}));
  EXPECT_EQ(names(*t.pod_client), (std::vector<std::string>{"lo", "eth0"}));

  // A master that is no link: the kernel refuses to enslave and unregisters the new pair again.
  VethRequest orphan = t.veth("vethef56", "eth2");
  orphan.master = 999;
  auto no_master = t.client->create_veth(orphan);
  ASSERT_FALSE(no_master);
  EXPECT_EQ(names(*t.client), (std::vector<std::string>{"lo", "vethab12"}));
  EXPECT_EQ(names(*t.pod_client), (std::vector<std::string>{"lo", "eth0"}));
}

TEST(LinkWrite, BadRequestsAreRefusedBeforeAnythingIsSent) {
  REQUIRE_NETNS_TOOLS();
  HostAndPod t;
  ASSERT_TRUE(t.ok()) << t.error;
  std::ofstream(t.dir / "plain") << "x";
  UniqueFd plain(::open((t.dir / "plain").c_str(), O_RDONLY | O_CLOEXEC));
  UniqueFd uts(::open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(plain && uts);

  struct Case {
    const char* what;
    VethRequest req;
    Errc code;
    std::string message;
  };
  VethRequest long_name = t.veth("veth0123456789ab");
  VethRequest bad_mac = t.veth("vethab12");
  bad_mac.peer_mac = "02:42:0a:59:00";
  VethRequest closed = t.veth("vethab12");
  closed.peer_netns = FdView(999999);
  VethRequest not_ns = t.veth("vethab12");
  not_ns.peer_netns = plain.view();
  VethRequest wrong_type = t.veth("vethab12");
  wrong_type.peer_netns = uts.view();
  VethRequest no_fd = t.veth("vethab12");
  no_fd.peer_netns = FdView();
  const Case cases[] = {
      {"ifname", long_name, Errc::invalid_name,
       "create veth veth0123456789ab (peer eth0): host_name: interface name \"veth0123456789ab\": longer than 15 "
       "bytes: invalid name"},
      {"MAC", bad_mac, Errc::invalid_argument,
       "create veth vethab12 (peer eth0): peer_mac \"02:42:0a:59:00\": not a MAC address (aa:bb:cc:dd:ee:ff): "
       "invalid argument"},
      {"closed fd", closed, Errc::invalid_argument,
       "create veth vethab12 (peer eth0): peer_netns: fd 999999 is not open: invalid argument"},
      {"regular file", not_ns, Errc::invalid_argument,
       "create veth vethab12 (peer eth0): peer_netns: fd " + std::to_string(plain.get()) +
           " is not a namespace: invalid argument"},
      {"uts namespace", wrong_type, Errc::invalid_argument,
       "create veth vethab12 (peer eth0): peer_netns: fd " + std::to_string(uts.get()) +
           " is a uts namespace, not a network namespace: invalid argument"},
      {"no fd", no_fd, Errc::invalid_argument,
       "create veth vethab12 (peer eth0): peer_netns: no file descriptor: invalid argument"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    auto r = t.client->create_veth(c.req);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(c.code)) << r.error().message();
    EXPECT_EQ(r.error().message(), c.message);
  }
  EXPECT_EQ(names(*t.client), std::vector<std::string>{"lo"});
  EXPECT_EQ(names(*t.pod_client), std::vector<std::string>{"lo"});

  auto addr = t.client->add_address(AddressRequest{.index = 1, .address = "10.0.0.300", .prefix_len = 24});
  ASSERT_FALSE(addr);
  EXPECT_TRUE(addr.error().is(Errc::invalid_argument));
  EXPECT_EQ(addr.error().message(),
            "add address 10.0.0.300/24 to link 1: address \"10.0.0.300\": not an IP address: invalid argument");
  auto route = t.client->add_route(RouteRequest{.dst = "10.9.0.0", .dst_len = 16});
  ASSERT_FALSE(route);
  EXPECT_TRUE(route.error().is(Errc::invalid_argument));
  auto set = t.client->set_link(LinkChange{.index = 0});
  ASSERT_FALSE(set);
  EXPECT_TRUE(set.error().is(Errc::invalid_argument));
  auto del = t.client->delete_link(-1);
  ASSERT_FALSE(del);
  EXPECT_TRUE(del.error().is(Errc::invalid_argument));
  // The socket is still in step after all of that.
  EXPECT_OK(t.client->link("lo"));
}

TEST(LinkWrite, SetLinkUpWithArpNotifyAndDownAgain) {
  REQUIRE_NETNS_TOOLS();
  HostAndPod t;
  ASSERT_TRUE(t.ok()) << t.error;
  ASSERT_OK(t.client->create_veth(t.veth("vethab12")));
  auto eth0 = t.pod_client->link("eth0");
  ASSERT_OK(eth0);
  const std::string sysctl = "/proc/sys/net/ipv4/conf/eth0/arp_notify";
  ASSERT_EQ(read_in(t.pod, sysctl), "0");

  ASSERT_OK(t.pod_client->set_link(LinkChange{.index = eth0->index, .up = true, .arp_notify = true}));
  EXPECT_EQ(read_in(t.pod, sysctl), "1");
  auto up = t.pod_client->link("eth0");
  ASSERT_OK(up);
  EXPECT_TRUE(up->is_up());

  // arp_notify false leaves the setting as it is.
  ASSERT_OK(t.pod_client->set_link(LinkChange{.index = eth0->index, .up = false}));
  auto down = t.pod_client->link("eth0");
  ASSERT_OK(down);
  EXPECT_FALSE(down->is_up());
  EXPECT_EQ(read_in(t.pod, sysctl), "1");

  auto missing = t.pod_client->set_link(LinkChange{.index = 999, .up = true, .arp_notify = true});
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().is(Errc::not_found)) << missing.error().message();
  EXPECT_EQ(missing.error().message().rfind("set link 999 up with arp_notify: ", 0), 0u) << missing.error().message();
}

// The point of arp_notify: the pod announces its (maybe reused) address the moment eth0 comes up,
// so neighbours caching the previous pod's MAC learn the new one. Counted on the host end: with
// IPv6 off in the test netns, an ARP is the only thing eth0 can send.
TEST(LinkWrite, ArpNotifySendsAGratuitousArpAsTheLinkComesUp) {
  REQUIRE_NETNS_TOOLS();
  HostAndPod t;
  ASSERT_TRUE(t.ok()) << t.error;
  ASSERT_OK(t.client->create_veth(t.veth("vethab12")));
  auto eth0 = t.pod_client->link("eth0");
  ASSERT_OK(eth0);
  ASSERT_OK(t.pod_client->add_address(AddressRequest{.index = eth0->index, .address = "10.79.0.2", .prefix_len = 24}));
  auto rx = [&] { return t.host_rx("vethab12"); };

  // Without it, coming up is silent.
  ASSERT_OK(t.pod_client->set_link(LinkChange{.index = eth0->index, .up = true}));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(rx(), 0u);
  ASSERT_OK(t.pod_client->set_link(LinkChange{.index = eth0->index, .up = false}));

  // With it, the announcement arrives.
  ASSERT_OK(t.pod_client->set_link(LinkChange{.index = eth0->index, .up = true, .arp_notify = true}));
  EXPECT_TRUE(eventually([&] { return rx() >= 1 && rx() != ~0ull; })) << "rx_packets " << rx();
}

// On an IPv4-only network the pod's eth0 gets no IPv6 link-local address, so it sends no DAD, no
// router solicitation and no MLD report, each of which the bridge would flood to every pod.
TEST(LinkWrite, NoIpv6LinkLocalKeepsAnIpv6LinkSilent) {
  REQUIRE_NETNS_TOOLS();
  HostAndPod t;
  ASSERT_TRUE(t.ok()) << t.error;
  ASSERT_OK(t.client->create_veth(t.veth("vethab12")));
  auto eth0 = t.pod_client->link("eth0");
  ASSERT_OK(eth0);
  t.pod.sysctl("net.ipv6.conf.eth0.disable_ipv6=0");
  auto rx = [&] { return t.host_rx("vethab12"); };
  ASSERT_OK(t.pod_client->set_link(LinkChange{.index = eth0->index, .up = true, .no_ipv6_link_local = true}));
  EXPECT_EQ(read_in(t.pod, "/proc/sys/net/ipv6/conf/eth0/addr_gen_mode"), "1");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(read_in(t.pod, "/proc/net/if_inet6").find("fe80"), std::string::npos) << read_in(t.pod, "/proc/net/if_inet6");
  EXPECT_EQ(rx(), 0u);

  // Without it, the same link makes its link-local address (and starts talking) as it comes up.
  ASSERT_OK(t.pod_client->set_link(LinkChange{.index = eth0->index, .up = false}));
  t.pod.sysctl("net.ipv6.conf.eth0.addr_gen_mode=0");
  ASSERT_OK(t.pod_client->set_link(LinkChange{.index = eth0->index, .up = true}));
  EXPECT_TRUE(eventually([&] { return read_in(t.pod, "/proc/net/if_inet6").find("fe80") != std::string::npos; }));
}

TEST(LinkWrite, AddressesIpv4WithBroadcastAndIpv6WithoutDad) {
  REQUIRE_NETNS_TOOLS();
  HostAndPod t;
  ASSERT_TRUE(t.ok()) << t.error;
  ASSERT_OK(t.client->create_veth(t.veth("vethab12")));
  auto eth0 = t.pod_client->link("eth0");
  ASSERT_OK(eth0);
  t.pod.sysctl("net.ipv6.conf.eth0.disable_ipv6=0");
  // Up with carrier (the host end is up), so DAD would really run.
  ASSERT_OK(t.pod_client->set_link(LinkChange{.index = eth0->index, .up = true}));

  ASSERT_OK(t.pod_client->add_address(AddressRequest{.index = eth0->index, .address = "10.79.0.2", .prefix_len = 24}));
  ASSERT_OK(t.pod_client->add_address(AddressRequest{.index = eth0->index, .address = "fd79::2", .prefix_len = 64}));
  ASSERT_OK(t.pod_client->add_address(
      AddressRequest{.index = eth0->index, .address = "fd79::3", .prefix_len = 64, .nodad = false}));

  json ip = json::parse(t.pod.ip_json({"addr", "show", "dev", "eth0"}), nullptr, false);
  ASSERT_TRUE(ip.is_array() && !ip.empty());
  bool v4 = false;
  for (const json& a : ip[0]["addr_info"]) {
    if (a["local"] == "10.79.0.2") {
      v4 = true;
      EXPECT_EQ(a["prefixlen"], 24);
      EXPECT_EQ(a.value("broadcast", ""), "10.79.0.255");
      EXPECT_EQ(a.value("scope", ""), "global");
    }
  }
  EXPECT_TRUE(v4) << ip.dump();

  auto v6 = t.pod_client->addresses(AF_INET6);
  ASSERT_OK(v6);
  auto find = [&](const std::string& text) {
    return std::find_if(v6->begin(), v6->end(), [&](const Address& a) { return a.address == text; });
  };
  ASSERT_NE(find("fd79::2"), v6->end());
  EXPECT_EQ(find("fd79::2")->prefix_len, 64);
  EXPECT_TRUE(find("fd79::2")->flags & IFA_F_NODAD);
  EXPECT_FALSE(find("fd79::2")->flags & IFA_F_TENTATIVE) << "usable at once";
  ASSERT_NE(find("fd79::3"), v6->end());
  EXPECT_TRUE(find("fd79::3")->flags & IFA_F_TENTATIVE) << "DAD runs when asked for";

  auto again = t.pod_client->add_address(AddressRequest{.index = eth0->index, .address = "10.79.0.2", .prefix_len = 24});
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().is(Errc::already_exists)) << again.error().message();
  EXPECT_EQ(again.error().message().rfind("add address 10.79.0.2/24 to link " + std::to_string(eth0->index) + ": ", 0),
            0u);
  auto no_link = t.pod_client->add_address(AddressRequest{.index = 999, .address = "10.79.0.9", .prefix_len = 24});
  ASSERT_FALSE(no_link);
  EXPECT_TRUE(no_link.error().is(Errc::not_found)) << no_link.error().message();
}

TEST(LinkWrite, DefaultRouteViaGatewayAndOnLinkRouteLikeIpRouteAdd) {
  REQUIRE_NETNS_TOOLS();
  HostAndPod t;
  ASSERT_TRUE(t.ok()) << t.error;
  ASSERT_OK(t.client->create_veth(t.veth("vethab12")));
  auto eth0 = t.pod_client->link("eth0");
  ASSERT_OK(eth0);
  ASSERT_OK(t.pod_client->add_address(AddressRequest{.index = eth0->index, .address = "10.79.0.2", .prefix_len = 24}));
  ASSERT_OK(t.pod_client->set_link(LinkChange{.index = eth0->index, .up = true}));

  ASSERT_OK(t.pod_client->add_route(RouteRequest{.gateway = "10.79.0.1", .oif = eth0->index, .mtu = 1400}));
  ASSERT_OK(t.pod_client->add_route(RouteRequest{.dst = "10.80.0.0", .dst_len = 16, .oif = eth0->index}));

  auto routes = t.pod_client->routes(AF_INET);
  ASSERT_OK(routes);
  auto def = std::find_if(routes->begin(), routes->end(), [](const Route& r) { return r.is_default(); });
  ASSERT_NE(def, routes->end());
  EXPECT_EQ(def->gateway, "10.79.0.1");
  EXPECT_EQ(def->oif, eth0->index);
  EXPECT_EQ(def->protocol, RTPROT_BOOT);
  EXPECT_EQ(def->scope, RT_SCOPE_UNIVERSE);
  EXPECT_EQ(def->table, kTableMain);
  auto onlink = std::find_if(routes->begin(), routes->end(), [](const Route& r) { return r.dst == "10.80.0.0"; });
  ASSERT_NE(onlink, routes->end());
  EXPECT_EQ(onlink->dst_len, 16);
  EXPECT_EQ(onlink->gateway, "");
  EXPECT_EQ(onlink->scope, RT_SCOPE_LINK);

  // What `ip route` shows: proto boot, and the MTU metric.
  json ip = json::parse(t.pod.ip_json({"-d", "route", "show", "default"}), nullptr, false);
  ASSERT_TRUE(ip.is_array() && ip.size() == 1u) << ip.dump();
  EXPECT_EQ(ip[0].value("protocol", ""), "boot");
  ASSERT_TRUE(ip[0].contains("metrics")) << ip.dump();
  EXPECT_EQ(ip[0]["metrics"][0].value("mtu", 0), 1400);

  auto again = t.pod_client->add_route(RouteRequest{.gateway = "10.79.0.1", .oif = eth0->index});
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().is(Errc::already_exists)) << again.error().message();
  EXPECT_EQ(again.error().message().rfind("add route default via 10.79.0.1 dev " + std::to_string(eth0->index), 0),
            0u);
  auto no_link = t.pod_client->add_route(RouteRequest{.dst = "10.81.0.0", .dst_len = 16, .oif = 999});
  ASSERT_FALSE(no_link);
  EXPECT_TRUE(no_link.error().is(Errc::not_found)) << no_link.error().message();
}

TEST(LinkWrite, DeleteLinkAndDeletingAMissingOneIsNotFound) {
  REQUIRE_NETNS_TOOLS();
  HostAndPod t;
  ASSERT_TRUE(t.ok()) << t.error;
  auto br = t.client->create_bridge(BridgeRequest{"br0", 0});
  ASSERT_OK(br);
  auto veth = t.client->create_veth(t.veth("vethab12"));
  ASSERT_OK(veth);
  ASSERT_OK(t.client->delete_link(*br));
  ASSERT_OK(t.client->delete_link(*veth));  // takes its peer in the pod along
  EXPECT_EQ(names(*t.client), std::vector<std::string>{"lo"});
  EXPECT_EQ(names(*t.pod_client), std::vector<std::string>{"lo"});

  auto missing = t.client->delete_link(*br);
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().is(Errc::not_found)) << missing.error().message();
  EXPECT_EQ(missing.error().message().rfind("delete link " + std::to_string(*br) + ": ", 0), 0u);
}

// The whole native path for two pods on one bridge, then traffic: pod <-> gateway and pod <-> pod.
TEST(LinkWrite, TwoConfiguredPodsPingTheGatewayAndEachOther) {
  REQUIRE_NETNS_TOOLS();
  PODNS_REQUIRE_TOOL("ping", "iputils-ping");
  HostAndPod t;
  ASSERT_TRUE(t.ok()) << t.error;
  TestNetns pod2(t.dir / "pod2");
  ASSERT_TRUE(pod2.ok()) << pod2.error();
  UniqueFd pod2_fd(::open(pod2.path().c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(pod2_fd);
  auto pod2_client = open_netlink_client_in(pod2.path());
  ASSERT_OK(pod2_client);

  auto br = t.client->create_bridge(BridgeRequest{"br0", 0});
  ASSERT_OK(br);
  ASSERT_OK(t.client->add_address(AddressRequest{.index = *br, .address = "10.79.0.1", .prefix_len = 24}));
  ASSERT_OK(t.client->set_link(LinkChange{.index = *br, .up = true}));

  struct Pod {
    Client& client;
    FdView fd;
    const char* host_name;
    const char* mac;
    const char* ip;
  };
  Pod pods[] = {{*t.pod_client, t.pod_fd.view(), "vethab12", "02:42:0a:4f:00:02", "10.79.0.2"},
                {**pod2_client, pod2_fd.view(), "vethcd34", "02:42:0a:4f:00:03", "10.79.0.3"}};
  for (const Pod& p : pods) {
    SCOPED_TRACE(p.host_name);
    VethRequest req;
    req.host_name = p.host_name;
    req.peer_name = "eth0";
    req.peer_netns = p.fd;
    req.master = *br;
    req.peer_mac = p.mac;
    ASSERT_OK(t.client->create_veth(req));
    auto eth0 = p.client.link("eth0");
    ASSERT_OK(eth0);
    ASSERT_OK(p.client.add_address(AddressRequest{.index = eth0->index, .address = p.ip, .prefix_len = 24}));
    ASSERT_OK(p.client.set_link(LinkChange{.index = eth0->index, .up = true, .arp_notify = true}));
    ASSERT_OK(p.client.add_route(RouteRequest{.gateway = "10.79.0.1", .oif = eth0->index}));
  }
  ASSERT_EQ(t.pod.wait_up("eth0"), "");
  ASSERT_EQ(pod2.wait_up("eth0"), "");
  ASSERT_EQ(t.host.wait_up("br0"), "");

  auto ping = [](const TestNetns& from, const std::string& to) {
    auto r = from.exec({"ping", "-c", "1", "-W", "3", to});
    return r.exit_code == 0 ? std::string() : "ping " + to + ": " + r.out + r.err;
  };
  EXPECT_EQ(ping(t.pod, "10.79.0.1"), "");
  EXPECT_EQ(ping(pod2, "10.79.0.1"), "");
  EXPECT_EQ(ping(t.pod, "10.79.0.3"), "");
  EXPECT_EQ(ping(t.host, "10.79.0.2"), "");
  // The bridge learned the MACs we gave.
  EXPECT_NE(t.host.exec({"bridge", "fdb", "show", "br", "br0"}).out.find("02:42:0a:4f:00:03"), std::string::npos);
}

// --- FakeClient ---

TEST(FakeClientChanges, RecordsCallsAndHandsOutIncreasingIndexes) {
  FakeClient fake;
  fake.next_index = 10;
  auto br = fake.create_bridge(BridgeRequest{"br0", 1500});
  ASSERT_OK(br);
  EXPECT_EQ(*br, 10);
  VethRequest req;
  req.host_name = "vethab12";
  req.peer_name = "eth0";
  req.master = *br;
  req.mtu = 1500;
  auto veth = fake.create_veth(req);
  ASSERT_OK(veth);
  EXPECT_EQ(*veth, 11);
  req.host_name = "vethcd34";
  req.peer_mac = "02:42:0a:59:00:05";
  req.host_up = false;
  req.master = 0;
  req.mtu = 0;
  ASSERT_OK(fake.create_veth(req));
  EXPECT_OK(fake.set_link(LinkChange{.index = 2, .up = true, .arp_notify = true}));
  EXPECT_OK(fake.set_link(LinkChange{.index = 2, .up = false}));
  EXPECT_OK(fake.add_address(AddressRequest{.index = 2, .address = "10.89.0.5", .prefix_len = 24}));
  EXPECT_OK(fake.add_address(AddressRequest{.index = 2, .address = "fd00::5", .prefix_len = 64}));
  EXPECT_OK(fake.add_route(RouteRequest{.gateway = "10.89.0.1"}));
  EXPECT_OK(fake.add_route(RouteRequest{.family = AF_INET6, .gateway = "fd00::1", .oif = 2}));
  EXPECT_OK(fake.add_route(RouteRequest{.dst = "10.90.0.0", .dst_len = 16, .oif = 2, .mtu = 1400}));
  EXPECT_OK(fake.delete_link(11));
  EXPECT_EQ(fake.calls(), (std::vector<std::string>{
                              "create_bridge br0 mtu=1500",
                              "create_veth vethab12 eth0 master=10 mtu=1500",
                              "create_veth vethcd34 eth0 master=0 mtu=0 mac=02:42:0a:59:00:05 down",
                              "set_link 2 up arp_notify",
                              "set_link 2 down",
                              "add_address 2 10.89.0.5/24",
                              "add_address 2 fd00::5/64 nodad",
                              "add_route 0.0.0.0/0 via 10.89.0.1",
                              "add_route ::/0 via fd00::1 oif=2",
                              "add_route 10.90.0.0/16 oif=2 mtu=1400",
                              "delete_link 11",
                          }));
  // What was created is there to be looked up; what was deleted is gone.
  auto found = fake.link("br0");
  ASSERT_OK(found);
  EXPECT_EQ(found->index, 10);
  EXPECT_EQ(found->kind, "bridge");
  EXPECT_FALSE(fake.link("vethab12"));
  auto host_end = fake.link("vethcd34");
  ASSERT_OK(host_end);
  EXPECT_EQ(host_end->index, 12);
  EXPECT_FALSE(host_end->is_up());
}

TEST(FakeClientChanges, ArmedErrorsFailEveryCallUntilReset) {
  FakeClient fake;
  fake.create_veth_error = Error(Errc::already_exists, "create veth vethab12 (peer eth0)");
  fake.add_route_error = Error::from_errno(ENETUNREACH, "add route default via 10.89.0.1");
  VethRequest req;
  req.host_name = "vethab12";
  req.peer_name = "eth0";
  for (int i = 0; i < 2; ++i) {
    auto veth = fake.create_veth(req);
    ASSERT_FALSE(veth);
    EXPECT_TRUE(veth.error().is(Errc::already_exists));
  }
  auto route = fake.add_route(RouteRequest{.gateway = "10.89.0.1"});
  ASSERT_FALSE(route);
  EXPECT_EQ(route.error().sys_errno(), ENETUNREACH);
  EXPECT_OK(fake.add_address(AddressRequest{.index = 2, .address = "10.89.0.5", .prefix_len = 24}));
  fake.create_veth_error.reset();
  EXPECT_OK(fake.create_veth(req));
  EXPECT_EQ(fake.calls().size(), 5u);  // failed calls are recorded too

  for (auto* armed : {&fake.create_bridge_error, &fake.set_link_error, &fake.add_address_error, &fake.delete_link_error})
    *armed = Error(Errc::busy, "armed");
  EXPECT_FALSE(fake.create_bridge(BridgeRequest{"br0", 0}));
  EXPECT_FALSE(fake.set_link(LinkChange{.index = 2}));
  EXPECT_FALSE(fake.add_address(AddressRequest{.index = 2, .address = "10.89.0.5", .prefix_len = 24}));
  EXPECT_FALSE(fake.delete_link(2));
}

TEST(FakeClientChanges, ChecksRequestsLikeTheRealClientAndRefusesTakenNames) {
  FakeClient fake;
  VethRequest req;
  req.host_name = "vethab12";
  req.peer_name = "eth0";
  req.peer_mac = "nope";
  auto bad_mac = fake.create_veth(req);
  ASSERT_FALSE(bad_mac);
  EXPECT_TRUE(bad_mac.error().is(Errc::invalid_argument));
  EXPECT_EQ(bad_mac.error().message(),
            "create veth vethab12 (peer eth0): peer_mac \"nope\": not a MAC address (aa:bb:cc:dd:ee:ff): invalid argument");
  req.peer_mac.clear();
  req.host_name = "";
  EXPECT_TRUE(fake.create_veth(req).error().is(Errc::invalid_name));
  EXPECT_TRUE(fake.add_route(RouteRequest{.dst = "10.0.0.0", .dst_len = 8}).error().is(Errc::invalid_argument));

  req.host_name = "vethab12";
  ASSERT_OK(fake.create_veth(req));
  auto taken = fake.create_veth(req);
  ASSERT_FALSE(taken);
  EXPECT_TRUE(taken.error().is(Errc::already_exists));
  EXPECT_EQ(fake.next_index, 101);  // a refused create takes no index
}

}  // namespace
}  // namespace podns::net
