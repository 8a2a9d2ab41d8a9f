// The mutating requests as bytes: every message rtnl_write builds is parsed back with libmnl and
// checked attribute by attribute (nests included), and every refused request writes nothing.
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>

#include <cstring>
#include <map>
#include <string>

#include "net/rtnl_parse.hpp"
#include "net/rtnl_write.hpp"
#include "test_support.hpp"

namespace podns::net::detail {
namespace {

// The attributes in [begin, end), by type (no duplicates expected in what we write).
using Attrs = std::map<unsigned, const nlattr*>;

Attrs walk(const void* begin, const void* end) {
  Attrs out;
  auto* a = static_cast<const nlattr*>(begin);
  int left = static_cast<int>(static_cast<const char*>(end) - static_cast<const char*>(begin));
  while (mnl_attr_ok(a, left)) {
    EXPECT_EQ(out.count(mnl_attr_get_type(a)), 0u) << "attribute " << mnl_attr_get_type(a) << " twice";
    out[mnl_attr_get_type(a)] = a;
    left -= static_cast<int>(MNL_ALIGN(a->nla_len));
    a = reinterpret_cast<const nlattr*>(reinterpret_cast<const char*>(a) + MNL_ALIGN(a->nla_len));
  }
  EXPECT_EQ(left, 0) << "bytes after the last attribute";
  return out;
}

// Top-level attributes after a fixed header of `header` bytes.
Attrs attrs_of(const nlmsghdr* nlh, std::size_t header) {
  EXPECT_GE(mnl_nlmsg_get_payload_len(nlh), header);
  return walk(mnl_nlmsg_get_payload_offset(nlh, header), mnl_nlmsg_get_payload_tail(nlh));
}

// Attributes nested in `nest`, after `header` bytes of fixed data (VETH_INFO_PEER's ifinfomsg).
Attrs nested(const nlattr* nest, std::size_t header = 0) {
  EXPECT_NE(nest, nullptr);
  if (!nest) return {};
  auto* payload = static_cast<const char*>(mnl_attr_get_payload(nest));
  return walk(payload + MNL_ALIGN(header), reinterpret_cast<const char*>(nest) + nest->nla_len);
}

std::string str(const Attrs& a, unsigned type) {
  auto it = a.find(type);
  if (it == a.end()) return "<missing>";
  EXPECT_EQ(mnl_attr_validate(it->second, MNL_TYPE_NUL_STRING), 0);
  return mnl_attr_get_str(it->second);
}

std::uint32_t u32(const Attrs& a, unsigned type) {
  auto it = a.find(type);
  if (it == a.end()) {
    ADD_FAILURE() << "attribute " << type << " missing";
    return 0;
  }
  EXPECT_EQ(mnl_attr_get_payload_len(it->second), 4u);
  return mnl_attr_get_u32(it->second);
}

// inet_ntop of an address attribute.
std::string ip(const Attrs& a, unsigned type) {
  auto it = a.find(type);
  if (it == a.end()) return "<missing>";
  auto len = mnl_attr_get_payload_len(it->second);
  return format_ip(len == 4 ? AF_INET : AF_INET6,
                   {static_cast<const unsigned char*>(mnl_attr_get_payload(it->second)), len});
}

template <class Header>
const Header& header_of(const nlmsghdr* nlh) {
  return *static_cast<const Header*>(mnl_nlmsg_get_payload(nlh));
}

VethRequest full_veth() {
  VethRequest r;
  r.host_name = "vethab12";
  r.peer_name = "eth0";
  r.peer_netns = FdView(7);
  r.master = 3;
  r.mtu = 1450;
  r.peer_mac = "02:42:0A:59:00:05";
  return r;
}

TEST(RtnlWrite, VethIsOneNewlinkWithThePeerNestedInItsNetns) {
  RequestBuffer buf;
  auto msg = write_new_veth(buf, full_veth());
  ASSERT_OK(msg);
  const nlmsghdr* nlh = *msg;
  EXPECT_EQ(nlh->nlmsg_type, RTM_NEWLINK);
  EXPECT_EQ(nlh->nlmsg_flags, NLM_F_CREATE | NLM_F_EXCL);
  const auto& ifi = header_of<ifinfomsg>(nlh);
  EXPECT_EQ(ifi.ifi_index, 0);
  EXPECT_EQ(ifi.ifi_flags, unsigned(IFF_UP));
  EXPECT_EQ(ifi.ifi_change, unsigned(IFF_UP));

  Attrs top = attrs_of(nlh, sizeof(ifinfomsg));
  EXPECT_EQ(top.size(), 6u);  // IFNAME, MTU, MASTER, NUM_TX_QUEUES, NUM_RX_QUEUES, LINKINFO
  EXPECT_EQ(str(top, IFLA_IFNAME), "vethab12");
  EXPECT_EQ(u32(top, IFLA_NUM_TX_QUEUES), 1u);
  EXPECT_EQ(u32(top, IFLA_NUM_RX_QUEUES), 1u);
  EXPECT_EQ(u32(top, IFLA_MTU), 1450u);
  EXPECT_EQ(u32(top, IFLA_MASTER), 3u);
  Attrs info = nested(top[IFLA_LINKINFO]);
  EXPECT_EQ(str(info, IFLA_INFO_KIND), "veth");
  Attrs data = nested(info[IFLA_INFO_DATA]);
  ASSERT_EQ(data.size(), 1u);
  const nlattr* peer = data[VETH_INFO_PEER];
  ASSERT_NE(peer, nullptr);
  ASSERT_GE(mnl_attr_get_payload_len(peer), sizeof(ifinfomsg));
  ifinfomsg peer_ifi{};
  std::memcpy(&peer_ifi, mnl_attr_get_payload(peer), sizeof(peer_ifi));
  EXPECT_EQ(peer_ifi.ifi_index, 0);
  EXPECT_EQ(peer_ifi.ifi_flags, 0u);  // born down
  EXPECT_EQ(peer_ifi.ifi_change, 0u);
  Attrs p = nested(peer, sizeof(ifinfomsg));
  EXPECT_EQ(p.size(), 6u);
  EXPECT_EQ(str(p, IFLA_IFNAME), "eth0");
  EXPECT_EQ(u32(p, IFLA_NUM_TX_QUEUES), 1u);
  EXPECT_EQ(u32(p, IFLA_NUM_RX_QUEUES), 1u);
  EXPECT_EQ(u32(p, IFLA_NET_NS_FD), 7u);
  EXPECT_EQ(u32(p, IFLA_MTU), 1450u);
  ASSERT_TRUE(p.count(IFLA_ADDRESS));
  EXPECT_EQ(format_hwaddr({static_cast<const unsigned char*>(mnl_attr_get_payload(p[IFLA_ADDRESS])),
                           mnl_attr_get_payload_len(p[IFLA_ADDRESS])}),
            "02:42:0a:59:00:05");

  // What the kernel will report about the host end, read back with our own decoder.
  auto link = parse_link(*nlh);
  ASSERT_OK(link);
  EXPECT_EQ(link->name, "vethab12");
  EXPECT_EQ(link->kind, "veth");
  EXPECT_EQ(link->master, 3);
  EXPECT_EQ(link->mtu, 1450u);
}

TEST(RtnlWrite, VethLeavesOutWhatIsNotAsked) {
  VethRequest r;
  r.host_name = "vethcd34";
  r.peer_name = "eth1";
  r.peer_netns = FdView(9);
  r.host_up = false;
  RequestBuffer buf;
  auto msg = write_new_veth(buf, r);
  ASSERT_OK(msg);
  const auto& ifi = header_of<ifinfomsg>(*msg);
  EXPECT_EQ(ifi.ifi_flags, 0u);
  EXPECT_EQ(ifi.ifi_change, 0u);
  Attrs top = attrs_of(*msg, sizeof(ifinfomsg));
  EXPECT_EQ(top.size(), 4u);  // IFNAME, the two queue counts, LINKINFO: no MTU, no MASTER
  Attrs p = nested(nested(nested(top[IFLA_LINKINFO])[IFLA_INFO_DATA])[VETH_INFO_PEER], sizeof(ifinfomsg));
  EXPECT_EQ(p.size(), 4u);  // IFNAME, NET_NS_FD, the queue counts: the kernel picks MTU and a random MAC
  EXPECT_EQ(str(p, IFLA_IFNAME), "eth1");
  EXPECT_EQ(u32(p, IFLA_NET_NS_FD), 9u);
}

TEST(RtnlWrite, LongestVethFitsTheBufferWithRoomToSpare) {
  VethRequest r = full_veth();
  r.host_name = std::string(15, 'h');
  r.peer_name = std::string(15, 'p');
  RequestBuffer buf;
  auto msg = write_new_veth(buf, r);
  ASSERT_OK(msg);
  EXPECT_LT((*msg)->nlmsg_len, sizeof(buf.bytes) / 2);
}

TEST(RtnlWrite, VethRefusesBadNamesMacsAndMaster) {
  struct Case {
    const char* what;
    void (*edit)(VethRequest&);
    Errc code;
    const char* message;
  };
  const Case cases[] = {
      {"host name too long", [](VethRequest& r) { r.host_name = "veth0123456789ab"; }, Errc::invalid_name,
       "host_name: interface name \"veth0123456789ab\": longer than 15 bytes: invalid name"},
      {"empty peer name", [](VethRequest& r) { r.peer_name = ""; }, Errc::invalid_name,
       "peer_name: interface name \"\": empty: invalid name"},
      {"peer name with slash", [](VethRequest& r) { r.peer_name = "a/b"; }, Errc::invalid_name, nullptr},
      {"MAC not hex", [](VethRequest& r) { r.peer_mac = "02:42:0a:59:00:zz"; }, Errc::invalid_argument,
       "peer_mac \"02:42:0a:59:00:zz\": not a MAC address (aa:bb:cc:dd:ee:ff): invalid argument"},
      {"MAC short", [](VethRequest& r) { r.peer_mac = "02:42:0a:59:00"; }, Errc::invalid_argument, nullptr},
      {"MAC dashes", [](VethRequest& r) { r.peer_mac = "02-42-0a-59-00-05"; }, Errc::invalid_argument, nullptr},
      {"MAC too long", [](VethRequest& r) { r.peer_mac = "02:42:0a:59:00:05:06"; }, Errc::invalid_argument, nullptr},
      {"multicast MAC", [](VethRequest& r) { r.peer_mac = "01:00:5e:00:00:01"; }, Errc::invalid_argument,
       "peer_mac 01:00:5e:00:00:01: a multicast MAC address: invalid argument"},
      {"zero MAC", [](VethRequest& r) { r.peer_mac = "00:00:00:00:00:00"; }, Errc::invalid_argument, nullptr},
      {"negative master", [](VethRequest& r) { r.master = -1; }, Errc::invalid_argument,
       "master -1: not an interface index: invalid argument"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    VethRequest r = full_veth();
    c.edit(r);
    RequestBuffer buf;
    auto msg = write_new_veth(buf, r);
    ASSERT_FALSE(msg);
    EXPECT_TRUE(msg.error().is(c.code)) << msg.error().message();
    if (c.message) {
      EXPECT_EQ(msg.error().message(), c.message);
    }
    // Nothing was written.
    EXPECT_EQ(reinterpret_cast<const nlmsghdr*>(buf.bytes)->nlmsg_len, 0u);
  }
}

TEST(RtnlWrite, BridgeIsCreatedDownWithItsMtu) {
  RequestBuffer buf;
  auto msg = write_new_bridge(buf, BridgeRequest{"podns0", 9000});
  ASSERT_OK(msg);
  EXPECT_EQ((*msg)->nlmsg_type, RTM_NEWLINK);
  EXPECT_EQ((*msg)->nlmsg_flags, NLM_F_CREATE | NLM_F_EXCL);
  const auto& ifi = header_of<ifinfomsg>(*msg);
  EXPECT_EQ(ifi.ifi_flags, 0u);
  EXPECT_EQ(ifi.ifi_change, 0u);
  Attrs top = attrs_of(*msg, sizeof(ifinfomsg));
  EXPECT_EQ(top.size(), 3u);
  EXPECT_EQ(str(top, IFLA_IFNAME), "podns0");
  EXPECT_EQ(u32(top, IFLA_MTU), 9000u);
  Attrs info = nested(top[IFLA_LINKINFO]);
  EXPECT_EQ(info.size(), 1u);
  EXPECT_EQ(str(info, IFLA_INFO_KIND), "bridge");

  auto no_mtu = write_new_bridge(buf, BridgeRequest{"podns1", 0});
  ASSERT_OK(no_mtu);
  EXPECT_FALSE(attrs_of(*no_mtu, sizeof(ifinfomsg)).count(IFLA_MTU));
  auto bad = write_new_bridge(buf, BridgeRequest{"", 0});
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(Errc::invalid_name));
}

TEST(RtnlWrite, LinkFlagsChangeOnlyIffUp) {
  RequestBuffer buf;
  auto up = write_link_flags(buf, LinkChange{.index = 5, .up = true});
  ASSERT_OK(up);
  EXPECT_EQ((*up)->nlmsg_type, RTM_NEWLINK);
  EXPECT_EQ((*up)->nlmsg_flags, 0);  // no NLM_F_CREATE: a missing link is ENODEV, not a new one
  EXPECT_EQ(header_of<ifinfomsg>(*up).ifi_index, 5);
  EXPECT_EQ(header_of<ifinfomsg>(*up).ifi_flags, unsigned(IFF_UP));
  EXPECT_EQ(header_of<ifinfomsg>(*up).ifi_change, unsigned(IFF_UP));
  EXPECT_TRUE(attrs_of(*up, sizeof(ifinfomsg)).empty());

  auto down = write_link_flags(buf, LinkChange{.index = 5, .up = false});
  ASSERT_OK(down);
  EXPECT_EQ(header_of<ifinfomsg>(*down).ifi_flags, 0u);
  EXPECT_EQ(header_of<ifinfomsg>(*down).ifi_change, unsigned(IFF_UP));

  auto zero = write_link_flags(buf, LinkChange{.index = 0});
  ASSERT_FALSE(zero);
  EXPECT_TRUE(zero.error().is(Errc::invalid_argument));
  EXPECT_EQ(zero.error().message(), "index 0: not an interface index: invalid argument");
}

TEST(RtnlWrite, ArpNotifyIsADevconfInTheInetAfSpecAndChangesNoFlags) {
  RequestBuffer buf;
  auto msg = write_link_conf(buf, LinkChange{.index = 2, .up = true, .arp_notify = true});
  ASSERT_OK(msg);
  EXPECT_EQ((*msg)->nlmsg_type, RTM_NEWLINK);
  EXPECT_EQ((*msg)->nlmsg_flags, 0);
  const auto& ifi = header_of<ifinfomsg>(*msg);
  EXPECT_EQ(ifi.ifi_index, 2);
  EXPECT_EQ(ifi.ifi_flags, 0u);
  EXPECT_EQ(ifi.ifi_change, 0u);
  Attrs top = attrs_of(*msg, sizeof(ifinfomsg));
  ASSERT_EQ(top.size(), 1u);
  Attrs af = nested(top[IFLA_AF_SPEC]);
  ASSERT_EQ(af.size(), 1u);
  Attrs inet = nested(af[AF_INET]);
  ASSERT_EQ(inet.size(), 1u);
  Attrs conf = nested(inet[IFLA_INET_CONF]);
  ASSERT_EQ(conf.size(), 1u);
  EXPECT_EQ(u32(conf, IPV4_DEVCONF_ARP_NOTIFY), 1u);
}

TEST(RtnlWrite, NoIpv6LinkLocalIsTheInet6AddrGenModeNoneBesideArpNotify) {
  RequestBuffer buf;
  auto msg = write_link_conf(buf, LinkChange{.index = 3, .up = true, .arp_notify = true, .no_ipv6_link_local = true});
  ASSERT_OK(msg);
  const auto& ifi = header_of<ifinfomsg>(*msg);
  EXPECT_EQ(ifi.ifi_index, 3);
  EXPECT_EQ(ifi.ifi_change, 0u);
  Attrs af = nested(attrs_of(*msg, sizeof(ifinfomsg))[IFLA_AF_SPEC]);
  ASSERT_EQ(af.size(), 2u);
  Attrs inet6 = nested(af[AF_INET6]);
  ASSERT_EQ(inet6.size(), 1u);
  ASSERT_TRUE(inet6.count(IFLA_INET6_ADDR_GEN_MODE));
  EXPECT_EQ(*static_cast<const uint8_t*>(mnl_attr_get_payload(inet6[IFLA_INET6_ADDR_GEN_MODE])), IN6_ADDR_GEN_MODE_NONE);

  // Alone: only the AF_INET6 part.
  RequestBuffer alone_buf;
  auto alone = write_link_conf(alone_buf, LinkChange{.index = 3, .no_ipv6_link_local = true});
  ASSERT_OK(alone);
  Attrs alone_af = nested(attrs_of(*alone, sizeof(ifinfomsg))[IFLA_AF_SPEC]);
  EXPECT_EQ(alone_af.size(), 1u);
  EXPECT_TRUE(alone_af.count(AF_INET6));
  EXPECT_EQ(describe(LinkChange{.index = 3, .no_ipv6_link_local = true}),
            "set link 3 up without an IPv6 link-local address");
}

TEST(RtnlWrite, Ipv4AddressHasLocalAddressAndBroadcastLikeIpAddrAddBrdPlus) {
  RequestBuffer buf;
  auto msg = write_new_address(buf, AddressRequest{.index = 4, .address = "10.89.0.5", .prefix_len = 24});
  ASSERT_OK(msg);
  EXPECT_EQ((*msg)->nlmsg_type, RTM_NEWADDR);
  EXPECT_EQ((*msg)->nlmsg_flags, NLM_F_CREATE | NLM_F_EXCL);
  const auto& ifa = header_of<ifaddrmsg>(*msg);
  EXPECT_EQ(ifa.ifa_family, AF_INET);
  EXPECT_EQ(ifa.ifa_prefixlen, 24);
  EXPECT_EQ(ifa.ifa_index, 4u);
  EXPECT_EQ(ifa.ifa_scope, RT_SCOPE_UNIVERSE);
  EXPECT_EQ(ifa.ifa_flags, 0);  // nodad means nothing for IPv4
  Attrs a = attrs_of(*msg, sizeof(ifaddrmsg));
  EXPECT_EQ(a.size(), 3u);
  EXPECT_EQ(ip(a, IFA_LOCAL), "10.89.0.5");
  EXPECT_EQ(ip(a, IFA_ADDRESS), "10.89.0.5");
  EXPECT_EQ(ip(a, IFA_BROADCAST), "10.89.0.255");
  // The decoder reads back what was asked.
  auto parsed = parse_address(**msg);
  ASSERT_OK(parsed);
  EXPECT_EQ(parsed->cidr(), "10.89.0.5/24");

  auto wide = write_new_address(buf, AddressRequest{.index = 4, .address = "172.20.3.9", .prefix_len = 12});
  ASSERT_OK(wide);
  EXPECT_EQ(ip(attrs_of(*wide, sizeof(ifaddrmsg)), IFA_BROADCAST), "172.31.255.255");
  for (std::uint8_t len : {31, 32}) {
    auto p2p = write_new_address(buf, AddressRequest{.index = 4, .address = "10.89.0.4", .prefix_len = len});
    ASSERT_OK(p2p);
    EXPECT_FALSE(attrs_of(*p2p, sizeof(ifaddrmsg)).count(IFA_BROADCAST)) << "/" << int(len);
  }
}

TEST(RtnlWrite, Ipv6AddressCarriesNodadInIfaFlags) {
  RequestBuffer buf;
  auto msg = write_new_address(buf, AddressRequest{.index = 4, .address = "fd00:89::5", .prefix_len = 64});
  ASSERT_OK(msg);
  const auto& ifa = header_of<ifaddrmsg>(*msg);
  EXPECT_EQ(ifa.ifa_family, AF_INET6);
  EXPECT_EQ(ifa.ifa_prefixlen, 64);
  Attrs a = attrs_of(*msg, sizeof(ifaddrmsg));
  EXPECT_EQ(a.size(), 3u);
  EXPECT_EQ(ip(a, IFA_LOCAL), "fd00:89::5");
  EXPECT_EQ(ip(a, IFA_ADDRESS), "fd00:89::5");
  EXPECT_EQ(u32(a, IFA_FLAGS), unsigned(IFA_F_NODAD));
  EXPECT_FALSE(a.count(IFA_BROADCAST));

  auto dad = write_new_address(buf, AddressRequest{.index = 4, .address = "fd00:89::5", .prefix_len = 64, .nodad = false});
  ASSERT_OK(dad);
  Attrs d = attrs_of(*dad, sizeof(ifaddrmsg));
  EXPECT_FALSE(d.count(IFA_FLAGS));
  EXPECT_EQ(header_of<ifaddrmsg>(*dad).ifa_flags, 0);
}

TEST(RtnlWrite, AddressRefusesBadTextPrefixAndIndex) {
  struct Case {
    AddressRequest req;
    const char* message;
  };
  const Case cases[] = {
      {{.index = 4, .address = "10.89.0.256", .prefix_len = 24},
       "address \"10.89.0.256\": not an IP address: invalid argument"},
      {{.index = 4, .address = "10.89.0.5/24", .prefix_len = 24}, nullptr},
      {{.index = 4, .address = "", .prefix_len = 24}, nullptr},
      {{.index = 4, .address = "fe80::1%eth0", .prefix_len = 64}, nullptr},
      {{.index = 4, .address = "10.89.0.5", .prefix_len = 33},
       "prefix_len 33: longer than 32 bits for an IPv4 address: invalid argument"},
      {{.index = 4, .address = "fd00::5", .prefix_len = 129},
       "prefix_len 129: longer than 128 bits for an IPv6 address: invalid argument"},
      {{.index = 0, .address = "10.89.0.5", .prefix_len = 24}, "index 0: not an interface index: invalid argument"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.req.address + "/" + std::to_string(c.req.prefix_len));
    RequestBuffer buf;
    auto msg = write_new_address(buf, c.req);
    ASSERT_FALSE(msg);
    EXPECT_TRUE(msg.error().is(Errc::invalid_argument)) << msg.error().message();
    if (c.message) {
      EXPECT_EQ(msg.error().message(), c.message);
    }
  }
}

TEST(RtnlWrite, DefaultRouteViaGatewayIsUniverseScopeInMainTableProtoBoot) {
  RequestBuffer buf;
  auto msg = write_new_route(buf, RouteRequest{.gateway = "10.89.0.1", .oif = 2, .mtu = 1400});
  ASSERT_OK(msg);
  EXPECT_EQ((*msg)->nlmsg_type, RTM_NEWROUTE);
  EXPECT_EQ((*msg)->nlmsg_flags, NLM_F_CREATE | NLM_F_EXCL);
  const auto& rtm = header_of<rtmsg>(*msg);
  EXPECT_EQ(rtm.rtm_family, AF_INET);
  EXPECT_EQ(rtm.rtm_dst_len, 0);
  EXPECT_EQ(rtm.rtm_table, RT_TABLE_MAIN);
  EXPECT_EQ(rtm.rtm_protocol, RTPROT_BOOT);
  EXPECT_EQ(rtm.rtm_scope, RT_SCOPE_UNIVERSE);
  EXPECT_EQ(rtm.rtm_type, RTN_UNICAST);
  Attrs a = attrs_of(*msg, sizeof(rtmsg));
  EXPECT_EQ(a.size(), 3u);  // GATEWAY, OIF, METRICS; no DST for the default route
  EXPECT_EQ(ip(a, RTA_GATEWAY), "10.89.0.1");
  EXPECT_EQ(u32(a, RTA_OIF), 2u);
  Attrs metrics = nested(a[RTA_METRICS]);
  EXPECT_EQ(metrics.size(), 1u);
  EXPECT_EQ(u32(metrics, RTAX_MTU), 1400u);

  auto parsed = parse_route(**msg);
  ASSERT_OK(parsed);
  EXPECT_TRUE(parsed->is_default());
  EXPECT_EQ(parsed->gateway, "10.89.0.1");
  EXPECT_EQ(parsed->oif, 2);
  EXPECT_EQ(parsed->protocol, RTPROT_BOOT);
}

TEST(RtnlWrite, OnLinkRouteIsLinkScopeWithDstAndOif) {
  RequestBuffer buf;
  auto msg = write_new_route(buf, RouteRequest{.dst = "10.90.0.0", .dst_len = 16, .oif = 3});
  ASSERT_OK(msg);
  const auto& rtm = header_of<rtmsg>(*msg);
  EXPECT_EQ(rtm.rtm_dst_len, 16);
  EXPECT_EQ(rtm.rtm_scope, RT_SCOPE_LINK);
  Attrs a = attrs_of(*msg, sizeof(rtmsg));
  EXPECT_EQ(a.size(), 2u);
  EXPECT_EQ(ip(a, RTA_DST), "10.90.0.0");
  EXPECT_EQ(u32(a, RTA_OIF), 3u);

  auto v6 = write_new_route(buf, RouteRequest{.family = AF_INET6, .dst = "fd00:90::", .dst_len = 48,
                                              .gateway = "fd00:89::1"});
  ASSERT_OK(v6);
  EXPECT_EQ(header_of<rtmsg>(*v6).rtm_family, AF_INET6);
  EXPECT_EQ(header_of<rtmsg>(*v6).rtm_scope, RT_SCOPE_UNIVERSE);
  Attrs b = attrs_of(*v6, sizeof(rtmsg));
  EXPECT_EQ(ip(b, RTA_DST), "fd00:90::");
  EXPECT_EQ(ip(b, RTA_GATEWAY), "fd00:89::1");
  EXPECT_FALSE(b.count(RTA_OIF));
}

TEST(RtnlWrite, RouteRefusesWhatTheKernelWouldRejectWithoutSayingWhich) {
  struct Case {
    RouteRequest req;
    const char* message;
  };
  const Case cases[] = {
      {{.family = AF_UNSPEC, .gateway = "10.0.0.1"}, "family 0: neither AF_INET nor AF_INET6: invalid argument"},
      {{.family = AF_INET, .dst = "fd00::", .dst_len = 8, .oif = 2},
       "dst \"fd00::\": not an IPv4 address: invalid argument"},
      {{.family = AF_INET6, .gateway = "10.0.0.1"}, "gateway \"10.0.0.1\": not an IPv6 address: invalid argument"},
      {{.dst = "10.90.0.1", .dst_len = 16, .oif = 2},
       "dst 10.90.0.1/16: host bits set (a network address is expected): invalid argument"},
      {{.dst = "10.90.0.0", .dst_len = 40, .oif = 2},
       "dst_len 40: longer than 32 bits for an IPv4 address: invalid argument"},
      {{.dst_len = 8, .gateway = "10.0.0.1"}, "dst_len 8 without dst: invalid argument"},
      {{.dst = "10.90.0.0", .dst_len = 16}, "an on-link route (no gateway) needs oif: invalid argument"},
      {{.gateway = "10.0.0.1", .oif = -2}, "oif -2: not an interface index: invalid argument"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    RequestBuffer buf;
    auto msg = write_new_route(buf, c.req);
    ASSERT_FALSE(msg);
    EXPECT_TRUE(msg.error().is(Errc::invalid_argument)) << msg.error().message();
    EXPECT_EQ(msg.error().message(), c.message);
  }
  // Host bits past the prefix are fine when the prefix covers them, and /0 or /32 are valid too.
  RequestBuffer buf;
  EXPECT_OK(write_new_route(buf, RouteRequest{.dst = "10.90.0.1", .dst_len = 32, .oif = 2}));
  EXPECT_OK(write_new_route(buf, RouteRequest{.dst = "0.0.0.0", .dst_len = 0, .gateway = "10.0.0.1"}));
  EXPECT_OK(write_new_route(buf, RouteRequest{.family = AF_INET6, .dst = "fd00:90::", .dst_len = 31, .oif = 2}));
}

TEST(RtnlWrite, DeleteLinkByIndex) {
  RequestBuffer buf;
  auto msg = write_del_link(buf, 12);
  ASSERT_OK(msg);
  EXPECT_EQ((*msg)->nlmsg_type, RTM_DELLINK);
  EXPECT_EQ((*msg)->nlmsg_flags, 0);
  EXPECT_EQ(header_of<ifinfomsg>(*msg).ifi_index, 12);
  EXPECT_TRUE(attrs_of(*msg, sizeof(ifinfomsg)).empty());
  EXPECT_FALSE(write_del_link(buf, 0));
  EXPECT_FALSE(write_del_link(buf, -3));
}

TEST(RtnlWrite, HairpinIsABridgePortOptionOfAnExistingPort) {
  RequestBuffer buf;
  auto msg = write_port_hairpin(buf, 9);
  ASSERT_OK(msg);
  EXPECT_EQ((*msg)->nlmsg_type, RTM_SETLINK);  // the bridge's port setter
  EXPECT_EQ((*msg)->nlmsg_flags, 0);
  EXPECT_EQ(header_of<ifinfomsg>(*msg).ifi_family, AF_BRIDGE);
  EXPECT_EQ(header_of<ifinfomsg>(*msg).ifi_index, 9);
  Attrs top = attrs_of(*msg, sizeof(ifinfomsg));
  ASSERT_TRUE(top.count(IFLA_PROTINFO));
  EXPECT_TRUE(top[IFLA_PROTINFO]->nla_type & NLA_F_NESTED);
  Attrs port = nested(top[IFLA_PROTINFO]);
  ASSERT_TRUE(port.count(IFLA_BRPORT_MODE));
  EXPECT_EQ(mnl_attr_get_u8(port[IFLA_BRPORT_MODE]), 1);
  EXPECT_FALSE(write_port_hairpin(buf, 0));
}

TEST(RtnlWrite, DescriptionsNameTheObject) {
  EXPECT_EQ(describe(full_veth()), "create veth vethab12 (peer eth0)");
  EXPECT_EQ(describe(BridgeRequest{"podns0", 0}), "create bridge podns0");
  EXPECT_EQ(describe(LinkChange{.index = 5, .up = true, .arp_notify = true}), "set link 5 up with arp_notify");
  EXPECT_EQ(describe(LinkChange{.index = 5, .up = false}), "set link 5 down");
  EXPECT_EQ(describe(AddressRequest{.index = 2, .address = "10.89.0.5", .prefix_len = 24}),
            "add address 10.89.0.5/24 to link 2");
  EXPECT_EQ(describe(RouteRequest{.gateway = "10.89.0.1"}), "add route default via 10.89.0.1");
  EXPECT_EQ(describe(RouteRequest{.dst = "10.90.0.0", .dst_len = 16, .oif = 3}), "add route 10.90.0.0/16 dev 3");
  EXPECT_EQ(describe_delete_link(7), "delete link 7");
}

}  // namespace
}  // namespace podns::net::detail
