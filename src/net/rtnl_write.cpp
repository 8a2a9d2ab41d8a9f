#include "net/rtnl_write.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>

#include <array>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "podns/names.hpp"

namespace podns::net::detail {
namespace {

Error bad(std::string what) { return Error(Errc::invalid_argument, std::move(what)); }

// An interface name for the field `field`; validate_ifname's error (Errc::invalid_name) with the
// field in front, so the user learns which of two names was wrong.
Status check_ifname(std::string_view name, std::string_view field) {
  if (auto st = validate_ifname(name); !st) return fail_with(st, field);
  return {};
}

Status check_index(int index, std::string_view field) {
  if (index <= 0) return fail(bad(fmt::format("{} {}: not an interface index", field, index)));
  return {};
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "aa:bb:cc:dd:ee:ff", hex digits of either case. Unicast and not all zero, or the kernel refuses
// it (EADDRNOTAVAIL) after the name checks, with a less helpful word.
Result<std::array<unsigned char, 6>> parse_mac(std::string_view text, std::string_view field) {
  std::array<unsigned char, 6> mac{};
  bool syntax = text.size() == 17;
  for (std::size_t i = 0; syntax && i < 6; ++i) {
    int hi = hex_digit(text[3 * i]);
    int lo = hex_digit(text[3 * i + 1]);
    if (hi < 0 || lo < 0 || (i < 5 && text[3 * i + 2] != ':')) syntax = false;
    else mac[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  if (!syntax) return fail(bad(fmt::format("{} \"{}\": not a MAC address (aa:bb:cc:dd:ee:ff)", field, text)));
  if (mac[0] & 0x01) return fail(bad(fmt::format("{} {}: a multicast MAC address", field, text)));
  if (mac == std::array<unsigned char, 6>{}) return fail(bad(fmt::format("{} {}: the all-zero MAC address", field, text)));
  return mac;
}

struct IpAddress {
  int family = AF_UNSPEC;
  std::array<unsigned char, 16> bytes{};
  std::size_t size() const { return family == AF_INET ? 4 : 16; }
  unsigned max_prefix() const { return family == AF_INET ? 32 : 128; }
};

const char* family_word(int family) { return family == AF_INET ? "an IPv4" : "an IPv6"; }

// `family` AF_UNSPEC accepts either. inet_pton only: no names, no "/len", no zone ids.
Result<IpAddress> parse_ip(const std::string& text, int family, std::string_view field) {
  IpAddress ip;
  for (int f : {AF_INET, AF_INET6}) {
    if ((family == AF_UNSPEC || family == f) && ::inet_pton(f, text.c_str(), ip.bytes.data()) == 1) {
      ip.family = f;
      return ip;
    }
  }
  if (family == AF_UNSPEC) return fail(bad(fmt::format("{} \"{}\": not an IP address", field, text)));
  return fail(bad(fmt::format("{} \"{}\": not {} address", field, text, family_word(family))));
}

Status check_prefix(const IpAddress& ip, unsigned len, std::string_view field) {
  if (len > ip.max_prefix())
    return fail(bad(fmt::format("{} {}: longer than {} bits for {} address", field, len, ip.max_prefix(),
                                family_word(ip.family))));
  return {};
}

nlmsghdr* start(RequestBuffer& buf, std::uint16_t type, std::uint16_t flags) {
  std::memset(buf.bytes, 0, sizeof(buf.bytes));
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.bytes);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = flags;
  return nlh;
}

ifinfomsg* put_ifinfomsg(nlmsghdr* nlh, int index) {
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = index;
  return ifi;
}

constexpr std::uint16_t kCreate = NLM_F_CREATE | NLM_F_EXCL;

// One tx and one rx queue, asked for explicitly, on each end of a veth. Unasked, a veth end is
// allocated with a queue per possible CPU and then cut down to one real queue after it is
// registered (veth_init_queues); cutting queues of a registered device waits for an RCU grace
// period (synchronize_net, under the RTNL lock), so each pair cost two grace periods, and sysfs
// entries for every queue were made and removed again. One queue is what the default ends up
// with: the datapath is the same.
void put_single_queue(nlmsghdr* nlh) {
  mnl_attr_put_u32(nlh, IFLA_NUM_TX_QUEUES, 1);
  mnl_attr_put_u32(nlh, IFLA_NUM_RX_QUEUES, 1);
}

}  // namespace

Result<nlmsghdr*> write_new_bridge(RequestBuffer& buf, const BridgeRequest& req) {
  if (auto st = check_ifname(req.name, "name"); !st) return fail(st.error());
  nlmsghdr* nlh = start(buf, RTM_NEWLINK, kCreate);
  put_ifinfomsg(nlh, 0);  // created down: the caller brings it up once addressed
  mnl_attr_put_strz(nlh, IFLA_IFNAME, req.name.c_str());
  if (req.mtu) mnl_attr_put_u32(nlh, IFLA_MTU, req.mtu);
  nlattr* info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end(nlh, info);
  return nlh;
}

Result<nlmsghdr*> write_new_veth(RequestBuffer& buf, const VethRequest& req) {
  if (auto st = check_ifname(req.host_name, "host_name"); !st) return fail(st.error());
  if (auto st = check_ifname(req.peer_name, "peer_name"); !st) return fail(st.error());
  if (req.master < 0) return fail(bad(fmt::format("master {}: not an interface index", req.master)));
  std::array<unsigned char, 6> mac{};
  if (!req.peer_mac.empty()) {
    auto parsed = parse_mac(req.peer_mac, "peer_mac");
    if (!parsed) return fail(parsed.error());
    mac = *parsed;
  }

  nlmsghdr* nlh = start(buf, RTM_NEWLINK, kCreate);
  ifinfomsg* ifi = put_ifinfomsg(nlh, 0);
  if (req.host_up) {
    ifi->ifi_flags = IFF_UP;
    ifi->ifi_change = IFF_UP;
  }
  mnl_attr_put_strz(nlh, IFLA_IFNAME, req.host_name.c_str());
  if (req.mtu) mnl_attr_put_u32(nlh, IFLA_MTU, req.mtu);
  // Applied after the link is registered and configured (rtnl_newlink_create), in the same
  // request: a failure to enslave unregisters the new pair again.
  if (req.master) mnl_attr_put_u32(nlh, IFLA_MASTER, static_cast<std::uint32_t>(req.master));
  put_single_queue(nlh);

  nlattr* info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
  nlattr* data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
  // VETH_INFO_PEER holds a struct ifinfomsg and then the peer's own IFLA_* attributes. The peer's
  // ifinfomsg stays zero: its flags are applied with ifi_change 0 meaning "all", so it is born
  // down, and a zero ifi_index lets its netns pick the index.
  nlattr* peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
  put_ifinfomsg(nlh, 0);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, req.peer_name.c_str());
  mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, static_cast<std::uint32_t>(req.peer_netns.get()));
  if (req.mtu) mnl_attr_put_u32(nlh, IFLA_MTU, req.mtu);
  if (!req.peer_mac.empty()) mnl_attr_put(nlh, IFLA_ADDRESS, mac.size(), mac.data());
  put_single_queue(nlh);
  mnl_attr_nest_end(nlh, peer);
  mnl_attr_nest_end(nlh, data);
  mnl_attr_nest_end(nlh, info);
  return nlh;
}

Result<nlmsghdr*> write_link_flags(RequestBuffer& buf, const LinkChange& change) {
  if (auto st = check_index(change.index, "index"); !st) return fail(st.error());
  nlmsghdr* nlh = start(buf, RTM_NEWLINK, 0);
  ifinfomsg* ifi = put_ifinfomsg(nlh, change.index);
  ifi->ifi_flags = change.up ? IFF_UP : 0;
  ifi->ifi_change = IFF_UP;  // only this bit; ifi_change 0 would mean "every flag"
  return nlh;
}

Result<nlmsghdr*> write_link_conf(RequestBuffer& buf, const LinkChange& change) {
  if (auto st = check_index(change.index, "index"); !st) return fail(st.error());
  nlmsghdr* nlh = start(buf, RTM_NEWLINK, 0);
  put_ifinfomsg(nlh, change.index);  // flags and change 0: do_setlink leaves the flags alone
  nlattr* af_spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
  if (change.arp_notify) {
    nlattr* inet = mnl_attr_nest_start(nlh, AF_INET);
    nlattr* conf = mnl_attr_nest_start(nlh, IFLA_INET_CONF);
    // The attribute type is the devconf index (1-based, as the enum is), the payload a u32.
    mnl_attr_put_u32(nlh, IPV4_DEVCONF_ARP_NOTIFY, 1);
    mnl_attr_nest_end(nlh, conf);
    mnl_attr_nest_end(nlh, inet);
  }
  if (change.no_ipv6_link_local) {
    nlattr* inet6 = mnl_attr_nest_start(nlh, AF_INET6);
    mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
    mnl_attr_nest_end(nlh, inet6);
  }
  mnl_attr_nest_end(nlh, af_spec);
  return nlh;
}

Result<nlmsghdr*> write_new_address(RequestBuffer& buf, const AddressRequest& req) {
  if (auto st = check_index(req.index, "index"); !st) return fail(st.error());
  auto ip = parse_ip(req.address, AF_UNSPEC, "address");
  if (!ip) return fail(ip.error());
  if (auto st = check_prefix(*ip, req.prefix_len, "prefix_len"); !st) return fail(st.error());

  nlmsghdr* nlh = start(buf, RTM_NEWADDR, kCreate);
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = static_cast<unsigned char>(ip->family);
  ifa->ifa_prefixlen = req.prefix_len;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = static_cast<unsigned>(req.index);
  // No peer: IFA_ADDRESS is the address itself, as iproute2 sends it.
  mnl_attr_put(nlh, IFA_LOCAL, ip->size(), ip->bytes.data());
  mnl_attr_put(nlh, IFA_ADDRESS, ip->size(), ip->bytes.data());
  if (ip->family == AF_INET) {
    // `brd +`: host bits all ones. iproute2 leaves /31 and /32 without one (RFC 3021).
    if (req.prefix_len <= 30) {
      std::uint32_t addr;
      std::memcpy(&addr, ip->bytes.data(), 4);
      std::uint32_t host_mask = req.prefix_len == 0 ? 0xffffffffu : (0xffffffffu >> req.prefix_len);
      std::uint32_t brd = addr | htonl(host_mask);
      mnl_attr_put(nlh, IFA_BROADCAST, 4, &brd);
    }
  } else if (req.nodad) {
    // IFA_FLAGS supersedes the u8 ifa_flags; both say NODAD for kernels before IFA_FLAGS (3.14).
    ifa->ifa_flags = IFA_F_NODAD;
    mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
  }
  return nlh;
}

Result<nlmsghdr*> write_new_route(RequestBuffer& buf, const RouteRequest& req) {
  if (req.family != AF_INET && req.family != AF_INET6)
    return fail(bad(fmt::format("family {}: neither AF_INET nor AF_INET6", req.family)));
  IpAddress dst;
  dst.family = req.family;
  if (req.dst.empty()) {
    if (req.dst_len != 0) return fail(bad(fmt::format("dst_len {} without dst", req.dst_len)));
  } else {
    auto parsed = parse_ip(req.dst, req.family, "dst");
    if (!parsed) return fail(parsed.error());
    dst = *parsed;
    if (auto st = check_prefix(dst, req.dst_len, "dst_len"); !st) return fail(st.error());
    // The kernel refuses host bits too ("Invalid prefix for given prefix length"); say which.
    for (unsigned bit = req.dst_len; bit < dst.max_prefix(); ++bit)
      if (dst.bytes[bit / 8] & (0x80 >> (bit % 8)))
        return fail(bad(fmt::format("dst {}/{}: host bits set (a network address is expected)", req.dst,
                                    req.dst_len)));
  }
  IpAddress gateway;
  if (!req.gateway.empty()) {
    auto parsed = parse_ip(req.gateway, req.family, "gateway");
    if (!parsed) return fail(parsed.error());
    gateway = *parsed;
  }
  if (req.oif < 0) return fail(bad(fmt::format("oif {}: not an interface index", req.oif)));
  if (req.gateway.empty() && req.oif == 0)
    return fail(bad("an on-link route (no gateway) needs oif"));

  nlmsghdr* nlh = start(buf, RTM_NEWROUTE, kCreate);
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = static_cast<unsigned char>(req.family);
  rtm->rtm_dst_len = req.dst_len;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_BOOT;
  rtm->rtm_type = RTN_UNICAST;
  // As `ip route add`: a route through a gateway reaches beyond the link; one without stays on it.
  rtm->rtm_scope = req.gateway.empty() ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  if (!req.dst.empty()) mnl_attr_put(nlh, RTA_DST, dst.size(), dst.bytes.data());
  if (!req.gateway.empty()) mnl_attr_put(nlh, RTA_GATEWAY, gateway.size(), gateway.bytes.data());
  if (req.oif) mnl_attr_put_u32(nlh, RTA_OIF, static_cast<std::uint32_t>(req.oif));
  if (req.mtu) {
    nlattr* metrics = mnl_attr_nest_start(nlh, RTA_METRICS);
    mnl_attr_put_u32(nlh, RTAX_MTU, req.mtu);
    mnl_attr_nest_end(nlh, metrics);
  }
  return nlh;
}

Result<nlmsghdr*> write_port_hairpin(RequestBuffer& buf, int index) {
  if (auto st = check_index(index, "index"); !st) return fail(st.error());
  // RTM_SETLINK: PF_BRIDGE registers its port setter (rtnl_bridge_setlink) for SETLINK only; a
  // NEWLINK would reach the generic handler, which ignores IFLA_PROTINFO. NLA_F_NESTED marks the
  // new form (the old one was a bare u8 port state).
  nlmsghdr* nlh = start(buf, RTM_SETLINK, 0);
  auto* ifi = put_ifinfomsg(nlh, index);
  ifi->ifi_family = AF_BRIDGE;
  nlattr* info = mnl_attr_nest_start(nlh, IFLA_PROTINFO);
  info->nla_type |= NLA_F_NESTED;
  mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, 1);
  mnl_attr_nest_end(nlh, info);
  return nlh;
}

Result<nlmsghdr*> write_del_link(RequestBuffer& buf, int index) {
  if (auto st = check_index(index, "index"); !st) return fail(st.error());
  nlmsghdr* nlh = start(buf, RTM_DELLINK, 0);
  put_ifinfomsg(nlh, index);
  return nlh;
}

std::string describe(const BridgeRequest& req) { return fmt::format("create bridge {}", req.name); }

std::string describe(const VethRequest& req) {
  return fmt::format("create veth {} (peer {})", req.host_name, req.peer_name);
}

std::string describe(const LinkChange& change) {
  return fmt::format("set link {} {}{}{}", change.index, change.up ? "up" : "down",
                     change.arp_notify ? " with arp_notify" : "",
                     change.no_ipv6_link_local ? " without an IPv6 link-local address" : "");
}

std::string describe(const AddressRequest& req) {
  return fmt::format("add address {}/{} to link {}", req.address, req.prefix_len, req.index);
}

std::string describe(const RouteRequest& req) {
  std::string out = "add route ";
  out += req.dst.empty() ? std::string(req.family == AF_INET6 ? "default (IPv6)" : "default")
                         : fmt::format("{}/{}", req.dst, req.dst_len);
  if (!req.gateway.empty()) out += " via " + req.gateway;
  if (req.oif) out += fmt::format(" dev {}", req.oif);
  return out;
}

std::string describe_delete_link(int index) { return fmt::format("delete link {}", index); }

}  // namespace podns::net::detail
