#include "fw/validate.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <set>

#include <fmt/format.h>

#include "podns/names.hpp"

namespace podns::fw {
namespace {

// Words nft's scanner turns into keywords in any position (src/scanner.l, nftables 1.0.6 and
// later): as a table name they are a syntax error, and nft has no quoting for identifiers.
// Kept sorted for binary search.
constexpr std::string_view kNftKeywords[] = {
    "8021ad",    "8021q",      "add",       "ah",        "all",        "and",        "arp",
    "accept",    "auto-merge", "bridge",    "cgroup",    "chain",      "comment",    "comp",
    "constant",  "continue",   "counter",   "cpu",       "create",     "ct",         "day",
    "dccp",      "define",     "delete",    "describe",  "destroy",    "device",     "devices",
    "dnat",      "drop",       "dst",       "dup",       "dynamic",    "ecn",        "element",
    "elements",  "eq",         "esp",       "ether",     "exists",     "expires",    "export",
    "exthdr",    "fib",        "flags",     "flow",      "flowtable",  "flush",      "frag",
    "fwd",       "gc-interval", "ge",       "geneve",    "get",        "goto",       "gre",
    "gretap",    "gt",         "handle",    "hbh",       "hook",       "hour",       "icmp",
    "icmpv6",    "ibriport",   "ibrname",   "igmp",      "iif",        "iifgroup",   "iifname",
    "iiftype",   "import",     "include",   "index",     "inet",       "insert",     "interval",
    "ip",        "ip6",        "ipsec",     "jhash",     "jump",       "last",       "le",
    "limit",     "list",       "log",       "lshift",    "lt",         "map",        "mark",
    "masquerade", "meta",      "meter",     "mh",        "missing",    "monitor",    "ne",
    "netdev",    "nftrace",    "not",       "notrack",   "numgen",     "obriport",   "obrname",
    "offload",   "oif",        "oifgroup",  "oifname",   "oiftype",    "or",         "osf",
    "pkttype",   "policy",     "position",  "priority",  "queue",      "quota",      "random",
    "redefine",  "redirect",   "reject",    "rename",    "replace",    "reset",      "return",
    "rshift",    "rt",         "rt0",       "rt2",       "rtclassid",  "rule",       "ruleset",
    "sctp",      "secmark",    "set",       "size",      "skgid",      "skuid",      "snat",
    "socket",    "srh",        "symhash",   "synproxy",  "table",      "tcp",        "th",
    "time",      "timeout",    "tproxy",    "tunnel",    "type",       "typeof",     "udp",
    "udplite",   "undefine",   "update",    "vlan",      "vmap",       "vni",        "vxlan",
    "xor",       "xt",         "flowtables", "sets",
};

bool is_nft_keyword(std::string_view s) {
  static const std::vector<std::string_view> sorted = [] {
    std::vector<std::string_view> v(std::begin(kNftKeywords), std::end(kNftKeywords));
    std::sort(v.begin(), v.end());
    return v;
  }();
  return std::binary_search(sorted.begin(), sorted.end(), s);
}

bool ascii_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool ascii_alnum(char c) { return ascii_alpha(c) || (c >= '0' && c <= '9'); }
// Letters, digits, '_', '-', '.': what a table name and a bridge name may hold here.
bool word_char(char c) { return ascii_alnum(c) || c == '_' || c == '-' || c == '.'; }

// Printable rendering of untrusted text in a message.
std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') out += static_cast<char>(c);
    else out += fmt::format("\\x{:02x}", c);
  }
  return out + "\"";
}

std::unexpected<Error> bad(std::string_view field, std::string_view value, std::string_view why) {
  return fail(Errc::invalid_argument, fmt::format("{} {}: {}", field, quoted(value), why));
}

std::string forward_key(const CheckedForward& f) {
  std::string k(f.map->name);
  k += static_cast<char>(f.proto->ipproto);
  k += static_cast<char>(f.host_port >> 8);
  k += static_cast<char>(f.host_port & 0xff);
  if (f.map->bound) k.append(reinterpret_cast<const char*>(f.host.bytes.data()), f.host.size());
  return k;
}

}  // namespace

Status validate_table_name(std::string_view name) {
  auto invalid = [&](std::string_view why) {
    return fail(Errc::invalid_name, fmt::format("nft table name {}: {}", quoted(name), why));
  };
  if (name.empty()) return invalid("empty");
  if (name.size() > kMaxTableName) return invalid(fmt::format("longer than {} bytes", kMaxTableName));
  if (!ascii_alpha(name[0])) return invalid("must start with a letter");
  if (!std::all_of(name.begin(), name.end(), word_char))
    return invalid("only letters, digits, '_', '-' and '.' are allowed");
  if (is_nft_keyword(name)) return invalid("is an nft keyword");
  return {};
}

std::string IpAddress::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(family, bytes.data(), buf, sizeof buf);
  return buf;
}

Result<IpAddress> parse_ip(std::string_view text, std::string_view field) {
  if (text.size() >= INET6_ADDRSTRLEN) return bad(field, text, "not an IPv4 or IPv6 address");
  char buf[INET6_ADDRSTRLEN] = {};
  std::copy(text.begin(), text.end(), buf);
  IpAddress a;
  if (text.find(':') == std::string_view::npos) {
    a.family = AF_INET;
    if (::inet_pton(AF_INET, buf, a.bytes.data()) == 1) return a;
  } else {
    a.family = AF_INET6;
    if (::inet_pton(AF_INET6, buf, a.bytes.data()) == 1) return a;
  }
  return bad(field, text, "not an IPv4 or IPv6 address");
}

std::string Subnet::str() const { return fmt::format("{}/{}", addr.str(), prefix); }

Result<Subnet> parse_subnet(std::string_view text, std::string_view field) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return bad(field, text, "not a CIDR (address/prefix)");
  auto addr = parse_ip(text.substr(0, slash), field);
  if (!addr) return bad(field, text, "not a CIDR (address/prefix)");
  std::string_view len = text.substr(slash + 1);
  unsigned prefix = 0;
  auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), prefix);
  unsigned max = addr->family == AF_INET ? 32 : 128;
  if (len.empty() || ec != std::errc() || end != len.data() + len.size() || prefix > max)
    return bad(field, text, fmt::format("prefix length must be 0..{}", max));
  Subnet s{*addr, prefix};
  Subnet masked = s;
  for (unsigned bit = prefix; bit < max; ++bit)
    masked.addr.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  if (masked.addr.bytes != s.addr.bytes)
    return bad(field, text, fmt::format("host bits set (the network is {})", masked.str()));
  return s;
}

Result<std::vector<CheckedNetwork>> check_networks(std::span<const NetworkRules> networks) {
  std::vector<CheckedNetwork> out;
  out.reserve(networks.size());
  std::set<std::string_view> names, bridges;
  for (std::size_t i = 0; i < networks.size(); ++i) {
    const NetworkRules& n = networks[i];
    std::string where = fmt::format("networks[{}]", i);
    if (auto ok = validate_name(n.name); !ok)
      return fail(Errc::invalid_argument, where + " name: " + ok.error().what());
    where = fmt::format("network {}", n.name);
    if (auto ok = validate_ifname(n.bridge); !ok)
      return fail(Errc::invalid_argument, where + " bridge: " + ok.error().what());
    if (!std::all_of(n.bridge.begin(), n.bridge.end(), word_char))
      return bad(where + " bridge", n.bridge, "only letters, digits, '_', '-' and '.' are supported");
    if (!names.insert(n.name).second) return bad("network", n.name, "listed twice");
    if (!bridges.insert(n.bridge).second) return bad(where + " bridge", n.bridge, "used by another network too");
    CheckedNetwork c{&n, {}, {}};
    for (const auto& text : n.subnets) {
      auto s = parse_subnet(text, where + " subnet");
      if (!s) return fail(s.error());
      (s->addr.family == AF_INET ? c.v4 : c.v6).push_back(*s);
    }
    out.push_back(std::move(c));
  }
  return out;
}

Result<CheckedForward> check_forward(const PortForward& f, std::string_view field) {
  CheckedForward c;
  c.proto = layout::proto_info(f.proto);
  if (!c.proto)
    return fail(Errc::invalid_argument,
                fmt::format("{} proto: {} is not tcp, udp or sctp", field, static_cast<int>(f.proto)));
  auto pod = parse_ip(f.pod_ip, fmt::format("{} pod_ip", field));
  if (!pod) return fail(pod.error());
  c.pod = *pod;
  bool bound = !f.host_ip.empty();
  if (bound) {
    auto host = parse_ip(f.host_ip, fmt::format("{} host_ip", field));
    if (!host) return fail(host.error());
    if (host->family != pod->family)
      return bad(fmt::format("{} host_ip", field), f.host_ip,
                 fmt::format("not of the family of pod_ip {}", quoted(f.pod_ip)));
    if (std::all_of(host->bytes.begin(), host->bytes.end(), [](auto b) { return b == 0; }))
      return bad(fmt::format("{} host_ip", field), f.host_ip, "the unspecified address; \"\" means every local address");
    c.host = *host;
  }
  if (f.host_port == 0) return fail(Errc::invalid_argument, fmt::format("{} host_port: 0", field));
  if (f.pod_port == 0) return fail(Errc::invalid_argument, fmt::format("{} pod_port: 0", field));
  c.host_port = f.host_port;
  c.pod_port = f.pod_port;
  c.map = &layout::map_for(pod->family, bound);
  return c;
}

Result<std::vector<CheckedForward>> check_forwards(std::span<const PortForward> list, std::string_view field,
                                                   bool unique_keys) {
  std::vector<CheckedForward> out;
  out.reserve(list.size());
  std::set<std::string> keys;
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto c = check_forward(list[i], fmt::format("{}[{}]", field, i));
    if (!c) return fail(c.error());
    if (!keys.insert(forward_key(*c)).second) {
      if (unique_keys)
        return fail(Errc::invalid_argument,
                    fmt::format("{}[{}] ({}): its protocol, host address and port are already used by another one",
                                field, i, describe(*c)));
      continue;
    }
    out.push_back(*c);
  }
  return out;
}

std::string describe(const CheckedForward& f) {
  auto addr = [](const IpAddress& a) { return a.family == AF_INET6 ? "[" + a.str() + "]" : a.str(); };
  return fmt::format("{} {}:{} -> {}:{}", f.proto->name, f.map->bound ? addr(f.host) : std::string("*"),
                     f.host_port, addr(f.pod), f.pod_port);
}

std::string describe(const PortForward& f) {
  auto p = layout::proto_info(f.proto);
  return fmt::format("{} {}:{} -> {}:{}", p ? p->name : "?", f.host_ip.empty() ? "*" : f.host_ip, f.host_port,
                     f.pod_ip, f.pod_port);
}

}  // namespace podns::fw
