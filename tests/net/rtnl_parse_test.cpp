// Decoding of hand-built rtnetlink messages: what the kernel would send, what an older or newer
// kernel might send, and malformed input that must become Errc::corrupt instead of a bad read.
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <cstring>

#include "net/rtnl_parse.hpp"
#include "test_support.hpp"

namespace podns::net::detail {
namespace {

struct Msg {
  alignas(nlmsghdr) char buf[4096] = {};
  nlmsghdr* nlh = nullptr;
  template <class Header>
  Header* start(std::uint16_t type) {
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    return static_cast<Header*>(mnl_nlmsg_put_extra_header(nlh, sizeof(Header)));
  }
};

Msg link_msg(int index, const char* name) {
  Msg m;
  auto* ifi = m.start<ifinfomsg>(RTM_NEWLINK);
  ifi->ifi_index = index;
  ifi->ifi_flags = IFF_UP | IFF_BROADCAST;
  if (name) mnl_attr_put_strz(m.nlh, IFLA_IFNAME, name);
  return m;
}

TEST(RtnlParse, LinkWithEveryAttributeWeRead) {
  Msg m = link_msg(7, "eth0");
  const unsigned char mac[6] = {0x02, 0x42, 0x0a, 0x58, 0x00, 0x05};
  mnl_attr_put(m.nlh, IFLA_ADDRESS, sizeof(mac), mac);
  mnl_attr_put_u32(m.nlh, IFLA_MTU, 1450);
  mnl_attr_put_u32(m.nlh, IFLA_MASTER, 3);
  mnl_attr_put_u32(m.nlh, IFLA_LINK, 11);
  mnl_attr_put_u32(m.nlh, IFLA_LINK_NETNSID, 0);
  mnl_attr_put_u8(m.nlh, IFLA_OPERSTATE, 6);  // IF_OPER_UP
  nlattr* info = mnl_attr_nest_start(m.nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(m.nlh, IFLA_INFO_KIND, "veth");
  mnl_attr_nest_end(m.nlh, info);
  rtnl_link_stats64 st{};
  st.rx_bytes = 1ull << 40;  // past 32 bits: the reason to read IFLA_STATS64
  st.tx_packets = 12;
  st.rx_dropped = 3;
  st.tx_errors = 1;
  mnl_attr_put(m.nlh, IFLA_STATS64, sizeof(st), &st);
  mnl_attr_put_u32(m.nlh, 0x7ff0, 1);  // an attribute from the future: ignored

  auto link = parse_link(*m.nlh);
  ASSERT_OK(link);
  EXPECT_EQ(link->index, 7);
  EXPECT_EQ(link->name, "eth0");
  EXPECT_EQ(link->mac, "02:42:0a:58:00:05");
  EXPECT_EQ(link->mtu, 1450u);
  EXPECT_EQ(link->master, 3);
  EXPECT_EQ(link->link, 11);
  EXPECT_EQ(link->link_netnsid, 0);
  EXPECT_EQ(link->operstate, OperState::up);
  EXPECT_EQ(link->kind, "veth");
  EXPECT_TRUE(link->is_up());
  ASSERT_TRUE(link->stats);
  EXPECT_EQ(link->stats->rx_bytes, 1ull << 40);
  EXPECT_EQ(link->stats->tx_packets, 12u);
  EXPECT_EQ(link->stats->rx_dropped, 3u);
  EXPECT_EQ(link->stats->tx_errors, 1u);
}

TEST(RtnlParse, ShortStats64FromAnOlderKernelFillsWhatIsThere) {
  Msg m = link_msg(2, "eth0");
  std::uint64_t first_four[4] = {10, 20, 30, 40};  // rx_packets, tx_packets, rx_bytes, tx_bytes
  mnl_attr_put(m.nlh, IFLA_STATS64, sizeof(first_four), first_four);
  auto link = parse_link(*m.nlh);
  ASSERT_OK(link);
  ASSERT_TRUE(link->stats);
  EXPECT_EQ(link->stats->rx_packets, 10u);
  EXPECT_EQ(link->stats->tx_bytes, 40u);
  EXPECT_EQ(link->stats->rx_errors, 0u);
  EXPECT_EQ(link->stats->tx_dropped, 0u);
}

TEST(RtnlParse, UnknownOperStateAndNoStatsAreTolerated) {
  Msg m = link_msg(2, "eth0");
  mnl_attr_put_u8(m.nlh, IFLA_OPERSTATE, 42);
  auto link = parse_link(*m.nlh);
  ASSERT_OK(link);
  EXPECT_EQ(link->operstate, OperState::unknown);
  EXPECT_FALSE(link->stats);
  EXPECT_EQ(link->mac, "");
  EXPECT_EQ(link->kind, "");
  EXPECT_EQ(link->link, 0);
  EXPECT_EQ(link->link_netnsid, -1);
}

TEST(RtnlParse, LinkWithoutNameIsCorrupt) {
  Msg m = link_msg(9, nullptr);
  auto link = parse_link(*m.nlh);
  ASSERT_FALSE(link);
  EXPECT_TRUE(link.error().is(Errc::corrupt));
  EXPECT_EQ(link.error().message(), "link 9 without a name: corrupt data");
}

TEST(RtnlParse, AttributeRunningPastTheMessageIsCorrupt) {
  Msg m = link_msg(2, "eth0");
  nlattr* a = static_cast<nlattr*>(mnl_nlmsg_get_payload_tail(m.nlh));
  mnl_attr_put_u32(m.nlh, IFLA_MTU, 1500);
  a->nla_len = 200;  // claims more than the message holds
  auto link = parse_link(*m.nlh);
  ASSERT_FALSE(link);
  EXPECT_TRUE(link.error().is(Errc::corrupt)) << link.error().message();
}

TEST(RtnlParse, WrongSizedU32IsIgnoredNotReadPastItsEnd) {
  Msg m = link_msg(2, "eth0");
  std::uint16_t half = 1500;
  mnl_attr_put(m.nlh, IFLA_MTU, sizeof(half), &half);
  auto link = parse_link(*m.nlh);
  ASSERT_OK(link);
  EXPECT_EQ(link->mtu, 0u);
}

TEST(RtnlParse, ShortHeaderAndWrongTypeAreCorrupt) {
  Msg m;
  m.nlh = mnl_nlmsg_put_header(m.buf);
  m.nlh->nlmsg_type = RTM_NEWLINK;  // no ifinfomsg at all
  auto shrt = parse_link(*m.nlh);
  ASSERT_FALSE(shrt);
  EXPECT_TRUE(shrt.error().is(Errc::corrupt));
  Msg r = link_msg(2, "eth0");
  auto wrong = parse_address(*r.nlh);
  ASSERT_FALSE(wrong);
  EXPECT_TRUE(wrong.error().is(Errc::corrupt));
}

TEST(RtnlParse, AddressPrefersLocalOverPeerAndReadsExtendedFlags) {
  Msg m;
  auto* ifa = m.start<ifaddrmsg>(RTM_NEWADDR);
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = 32;
  ifa->ifa_index = 4;
  ifa->ifa_flags = IFA_F_PERMANENT;
  in_addr local{}, peer{};
  inet_pton(AF_INET, "10.0.2.100", &local);
  inet_pton(AF_INET, "10.0.2.2", &peer);
  mnl_attr_put(m.nlh, IFA_ADDRESS, 4, &peer);
  mnl_attr_put(m.nlh, IFA_LOCAL, 4, &local);
  mnl_attr_put_u32(m.nlh, IFA_FLAGS, IFA_F_PERMANENT | IFA_F_NOPREFIXROUTE);  // 0x200 does not fit in 8 bits
  mnl_attr_put_strz(m.nlh, IFA_LABEL, "tap0");
  auto a = parse_address(*m.nlh);
  ASSERT_OK(a);
  EXPECT_EQ(a->address, "10.0.2.100");
  EXPECT_EQ(a->cidr(), "10.0.2.100/32");
  EXPECT_EQ(a->index, 4);
  EXPECT_EQ(a->flags, unsigned(IFA_F_PERMANENT | IFA_F_NOPREFIXROUTE));
  EXPECT_EQ(a->label, "tap0");
}

TEST(RtnlParse, Ipv6AddressAndBadLengths) {
  Msg m;
  auto* ifa = m.start<ifaddrmsg>(RTM_NEWADDR);
  ifa->ifa_family = AF_INET6;
  ifa->ifa_prefixlen = 64;
  ifa->ifa_scope = RT_SCOPE_LINK;
  in6_addr ll{};
  inet_pton(AF_INET6, "fe80::1", &ll);
  mnl_attr_put(m.nlh, IFA_ADDRESS, sizeof(ll), &ll);
  auto a = parse_address(*m.nlh);
  ASSERT_OK(a);
  EXPECT_EQ(a->cidr(), "fe80::1/64");
  EXPECT_EQ(a->scope, RT_SCOPE_LINK);

  Msg bad;
  auto* ifb = bad.start<ifaddrmsg>(RTM_NEWADDR);
  ifb->ifa_family = AF_INET6;
  mnl_attr_put(bad.nlh, IFA_ADDRESS, 4, &ll);  // 4 bytes for an IPv6 address
  auto b = parse_address(*bad.nlh);
  ASSERT_FALSE(b);
  EXPECT_TRUE(b.error().is(Errc::corrupt));

  Msg none;
  none.start<ifaddrmsg>(RTM_NEWADDR)->ifa_family = AF_INET;
  EXPECT_FALSE(parse_address(*none.nlh));
}

TEST(RtnlParse, RouteTableAboveTwoFiftyFiveComesFromRtaTable) {
  Msg m;
  auto* rtm = m.start<rtmsg>(RTM_NEWROUTE);
  rtm->rtm_family = AF_INET;
  rtm->rtm_dst_len = 0;
  rtm->rtm_table = RT_TABLE_COMPAT;  // what the 8-bit field says for tables > 255
  rtm->rtm_protocol = RTPROT_STATIC;
  in_addr gw{};
  inet_pton(AF_INET, "10.88.0.1", &gw);
  mnl_attr_put(m.nlh, RTA_GATEWAY, 4, &gw);
  mnl_attr_put_u32(m.nlh, RTA_TABLE, 1000);
  mnl_attr_put_u32(m.nlh, RTA_OIF, 2);
  mnl_attr_put_u32(m.nlh, RTA_PRIORITY, 100);
  auto r = parse_route(*m.nlh);
  ASSERT_OK(r);
  EXPECT_TRUE(r->is_default());
  EXPECT_EQ(r->destination(), "default");
  EXPECT_EQ(r->gateway, "10.88.0.1");
  EXPECT_EQ(r->table, 1000u);
  EXPECT_EQ(r->oif, 2);
  EXPECT_EQ(r->priority, 100u);
  EXPECT_EQ(r->protocol, RTPROT_STATIC);
}

TEST(RtnlParse, Formatting) {
  const unsigned char six[6] = {0xaa, 0xbb, 0xcc, 0, 1, 0xff};
  EXPECT_EQ(format_hwaddr(six), "aa:bb:cc:00:01:ff");
  EXPECT_EQ(format_hwaddr({}), "");
  const unsigned char four[4] = {10, 88, 0, 5};
  EXPECT_EQ(format_ip(AF_INET, four), "10.88.0.5");
  EXPECT_EQ(format_ip(AF_INET6, four), "");
  EXPECT_EQ(to_string(OperState::lowerlayerdown), "LOWERLAYERDOWN");
}

}  // namespace
}  // namespace podns::net::detail
