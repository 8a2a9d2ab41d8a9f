#include <linux/rtnetlink.h>
#include <net/if.h>

#include <nlohmann/json.hpp>

#include "podns/net/json.hpp"
#include "test_support.hpp"

namespace podns::net {
namespace {

TEST(NetJson, LinkUsesIpNamesAndStats64Shape) {
  Link l;
  l.index = 2;
  l.name = "eth0";
  l.kind = "veth";
  l.mac = "02:42:0a:58:00:05";
  l.mtu = 1500;
  l.flags = IFF_UP | IFF_BROADCAST | IFF_MULTICAST | (1u << 16);
  l.operstate = OperState::up;
  l.stats = LinkStats{.rx_bytes = 1, .rx_packets = 2, .rx_errors = 3, .rx_dropped = 4,
                      .tx_bytes = 5, .tx_packets = 6, .tx_errors = 7, .tx_dropped = 8};
  nlohmann::json j = l;
  EXPECT_EQ(j["ifindex"], 2);
  EXPECT_EQ(j["ifname"], "eth0");
  EXPECT_EQ(j["mac"], "02:42:0a:58:00:05");
  EXPECT_EQ(j["operstate"], "UP");
  EXPECT_EQ(j["flags"], nlohmann::json({"UP", "BROADCAST", "MULTICAST", "LOWER_UP"}));
  EXPECT_EQ(j["stats64"]["rx"]["dropped"], 4);
  EXPECT_EQ(j["stats64"]["tx"]["bytes"], 5);
  l.stats.reset();
  EXPECT_FALSE(nlohmann::json(l).contains("stats64"));
}

TEST(NetJson, AddressRouteAndInterfaceState) {
  Address a{.index = 2, .family = AF_INET6, .address = "fd00::5", .prefix_len = 64, .scope = RT_SCOPE_LINK};
  nlohmann::json ja = a;
  EXPECT_EQ(ja["family"], "inet6");
  EXPECT_EQ(ja["local"], "fd00::5");
  EXPECT_EQ(ja["prefixlen"], 64);
  EXPECT_EQ(ja["cidr"], "fd00::5/64");
  EXPECT_EQ(ja["scope"], "link");

  Route r{.family = AF_INET, .gateway = "10.88.0.1", .oif = 2, .table = kTableMain, .priority = 5};
  nlohmann::json jr = r;
  EXPECT_EQ(jr["dst"], "default");
  EXPECT_EQ(jr["gateway"], "10.88.0.1");
  EXPECT_EQ(jr["metric"], 5);
  EXPECT_FALSE(jr.contains("prefsrc"));

  InterfaceState s{Link{.index = 2, .name = "eth0"}, {a}};
  nlohmann::json js = s;
  EXPECT_EQ(js["ifname"], "eth0");
  ASSERT_EQ(js["addresses"].size(), 1u);
  EXPECT_EQ(js["addresses"][0]["cidr"], "fd00::5/64");

  InterfaceStats st{.index = 3, .ifname = "tap0", .kind = "tun", .stats = LinkStats{.tx_packets = 9}};
  nlohmann::json jst = st;
  EXPECT_EQ(jst["ifname"], "tap0");
  EXPECT_EQ(jst["stats64"]["tx"]["packets"], 9);
  EXPECT_EQ(jst["operstate"], "UNKNOWN");
}

}  // namespace
}  // namespace podns::net
