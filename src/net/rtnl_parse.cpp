#include "net/rtnl_parse.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <array>
#include <cstring>

#include <fmt/format.h>

namespace podns::net::detail {
namespace {

template <std::size_t N>
struct AttrTable {
  std::array<const nlattr*, N + 1> at{};
  const nlattr* operator[](unsigned type) const { return type <= N ? at[type] : nullptr; }
};

// Collect the top-level attributes after a fixed header of `header_len` bytes, last one wins
// (as in the kernel's own nla_parse). Bytes left over that do not form a whole attribute (one that
// claims to run past the message) make the message corrupt; libmnl's mnl_attr_parse would just
// stop there and hand back a silently shortened table.
template <std::size_t N>
Result<AttrTable<N>> parse_attrs(const nlmsghdr& nlh, std::size_t header_len, const char* what) {
  AttrTable<N> t;
  if (mnl_nlmsg_get_payload_len(&nlh) < header_len) return fail(Errc::corrupt, fmt::format("short {} message", what));
  const char* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(&nlh));
  auto* attr = reinterpret_cast<const nlattr*>(static_cast<const char*>(mnl_nlmsg_get_payload(&nlh)) +
                                               MNL_ALIGN(header_len));
  for (;;) {
    auto left = tail - reinterpret_cast<const char*>(attr);
    if (left <= 0) break;
    if (!mnl_attr_ok(attr, static_cast<int>(left)))
      return fail(Errc::corrupt, fmt::format("malformed attributes in {} message", what));
    if (unsigned type = mnl_attr_get_type(attr); type <= N) t.at[type] = attr;
    attr = mnl_attr_next(attr);
  }
  return t;
}

std::span<const unsigned char> bytes_of(const nlattr* attr) {
  return {static_cast<const unsigned char*>(mnl_attr_get_payload(attr)), mnl_attr_get_payload_len(attr)};
}

bool is_u32(const nlattr* a) { return a && mnl_attr_validate(a, MNL_TYPE_U32) == 0; }
bool is_u8(const nlattr* a) { return a && mnl_attr_validate(a, MNL_TYPE_U8) == 0; }
bool is_string(const nlattr* a) { return a && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0; }

// IFLA_LINKINFO is nested; only IFLA_INFO_KIND matters here.
std::string link_kind(const nlattr* linkinfo) {
  std::string kind;
  if (!linkinfo || mnl_attr_validate(linkinfo, MNL_TYPE_NESTED) < 0) return kind;
  // libmnl's mnl_attr_for_each_nested relies on C's implicit void* conversion; walk by hand.
  const char* end = reinterpret_cast<const char*>(linkinfo) + linkinfo->nla_len;
  auto* a = static_cast<const nlattr*>(mnl_attr_get_payload(linkinfo));
  while (mnl_attr_ok(a, static_cast<int>(end - reinterpret_cast<const char*>(a)))) {
    if (mnl_attr_get_type(a) == IFLA_INFO_KIND && is_string(a)) kind = mnl_attr_get_str(a);
    a = mnl_attr_next(a);
  }
  return kind;
}

LinkStats stats_from(const nlattr* attr) {
  // Older kernels send a shorter struct, newer ones a longer one: copy what both have.
  rtnl_link_stats64 raw{};
  std::memcpy(&raw, mnl_attr_get_payload(attr), std::min<std::size_t>(sizeof(raw), mnl_attr_get_payload_len(attr)));
  return LinkStats{raw.rx_bytes, raw.rx_packets, raw.rx_errors, raw.rx_dropped,
                   raw.tx_bytes, raw.tx_packets, raw.tx_errors, raw.tx_dropped};
}

}  // namespace

std::string format_hwaddr(std::span<const unsigned char> bytes) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i) out += ':';
    out += fmt::format("{:02x}", bytes[i]);
  }
  return out;
}

std::string format_ip(int family, std::span<const unsigned char> bytes) {
  char buf[INET6_ADDRSTRLEN] = {};
  if ((family == AF_INET && bytes.size() == 4) || (family == AF_INET6 && bytes.size() == 16)) {
    if (::inet_ntop(family, bytes.data(), buf, sizeof(buf))) return buf;
  }
  return {};
}

Result<Link> parse_link(const nlmsghdr& nlh) {
  if (nlh.nlmsg_type != RTM_NEWLINK) return fail(Errc::corrupt, fmt::format("unexpected message type {} in link answer", nlh.nlmsg_type));
  auto tb = parse_attrs<IFLA_MAX>(nlh, sizeof(ifinfomsg), "link");
  if (!tb) return fail(tb.error());
  const auto& ifi = *static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(&nlh));
  Link link;
  link.index = ifi.ifi_index;
  link.flags = ifi.ifi_flags;
  if (!is_string((*tb)[IFLA_IFNAME])) return fail(Errc::corrupt, fmt::format("link {} without a name", ifi.ifi_index));
  link.name = mnl_attr_get_str((*tb)[IFLA_IFNAME]);
  if (const nlattr* a = (*tb)[IFLA_ADDRESS]) link.mac = format_hwaddr(bytes_of(a));
  if (is_u32((*tb)[IFLA_MTU])) link.mtu = mnl_attr_get_u32((*tb)[IFLA_MTU]);
  if (is_u32((*tb)[IFLA_MASTER])) link.master = static_cast<int>(mnl_attr_get_u32((*tb)[IFLA_MASTER]));
  if (is_u32((*tb)[IFLA_LINK])) link.link = static_cast<int>(mnl_attr_get_u32((*tb)[IFLA_LINK]));
  if (is_u32((*tb)[IFLA_LINK_NETNSID])) link.link_netnsid = static_cast<std::int32_t>(mnl_attr_get_u32((*tb)[IFLA_LINK_NETNSID]));
  if (is_u8((*tb)[IFLA_OPERSTATE])) {
    auto state = mnl_attr_get_u8((*tb)[IFLA_OPERSTATE]);
    link.operstate = state <= static_cast<std::uint8_t>(OperState::up) ? static_cast<OperState>(state) : OperState::unknown;
  }
  link.kind = link_kind((*tb)[IFLA_LINKINFO]);
  if (const nlattr* a = (*tb)[IFLA_STATS64]) link.stats = stats_from(a);
  return link;
}

Result<Address> parse_address(const nlmsghdr& nlh) {
  if (nlh.nlmsg_type != RTM_NEWADDR) return fail(Errc::corrupt, fmt::format("unexpected message type {} in address answer", nlh.nlmsg_type));
  auto tb = parse_attrs<IFA_MAX>(nlh, sizeof(ifaddrmsg), "address");
  if (!tb) return fail(tb.error());
  const auto& ifa = *static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(&nlh));
  Address addr;
  addr.index = static_cast<int>(ifa.ifa_index);
  addr.family = ifa.ifa_family;
  addr.prefix_len = ifa.ifa_prefixlen;
  addr.scope = ifa.ifa_scope;
  addr.flags = ifa.ifa_flags;
  if (is_u32((*tb)[IFA_FLAGS])) addr.flags = mnl_attr_get_u32((*tb)[IFA_FLAGS]);  // the 8-bit field is truncated
  // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on point-to-point links and
  // the only one for most IPv6 addresses. `ip addr` makes the same choice.
  const nlattr* a = (*tb)[IFA_LOCAL] ? (*tb)[IFA_LOCAL] : (*tb)[IFA_ADDRESS];
  if (!a) return fail(Errc::corrupt, fmt::format("address on link {} without an address", ifa.ifa_index));
  addr.address = format_ip(ifa.ifa_family, bytes_of(a));
  if (addr.address.empty()) return fail(Errc::corrupt, fmt::format("address of family {} with {} bytes", ifa.ifa_family, mnl_attr_get_payload_len(a)));
  if (is_string((*tb)[IFA_LABEL])) addr.label = mnl_attr_get_str((*tb)[IFA_LABEL]);
  return addr;
}

Result<Route> parse_route(const nlmsghdr& nlh) {
  if (nlh.nlmsg_type != RTM_NEWROUTE) return fail(Errc::corrupt, fmt::format("unexpected message type {} in route answer", nlh.nlmsg_type));
  auto tb = parse_attrs<RTA_MAX>(nlh, sizeof(rtmsg), "route");
  if (!tb) return fail(tb.error());
  const auto& rtm = *static_cast<const rtmsg*>(mnl_nlmsg_get_payload(&nlh));
  Route r;
  r.family = rtm.rtm_family;
  r.dst_len = rtm.rtm_dst_len;
  r.table = rtm.rtm_table;
  r.protocol = rtm.rtm_protocol;
  r.scope = rtm.rtm_scope;
  r.type = rtm.rtm_type;
  if (is_u32((*tb)[RTA_TABLE])) r.table = mnl_attr_get_u32((*tb)[RTA_TABLE]);  // rtm_table stops at 255
  if (is_u32((*tb)[RTA_OIF])) r.oif = static_cast<int>(mnl_attr_get_u32((*tb)[RTA_OIF]));
  if (is_u32((*tb)[RTA_PRIORITY])) r.priority = mnl_attr_get_u32((*tb)[RTA_PRIORITY]);
  if (const nlattr* a = (*tb)[RTA_DST]) r.dst = format_ip(r.family, bytes_of(a));
  if (const nlattr* a = (*tb)[RTA_GATEWAY]) r.gateway = format_ip(r.family, bytes_of(a));
  if (const nlattr* a = (*tb)[RTA_PREFSRC]) r.prefsrc = format_ip(r.family, bytes_of(a));
  return r;
}

}  // namespace podns::net::detail
