// The firewall without the kernel: the script's important lines, input checks, the element byte
// layout, libnftables error mapping.
#include <gtest/gtest.h>

#include <string>

#include "fw/element.hpp"
#include "fw/nft_loader.hpp"
#include "fw/validate.hpp"
#include "fw_test_util.hpp"
#include "podns/fw/firewall.hpp"

namespace podns::fw {
namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

TEST(RulesetText, ImportantLines) {
  Ruleset rs = test::sample_ruleset("0");
  rs.forwards = test::sample_forwards();
  std::string t = ruleset_text("podns", rs);
  SCOPED_TRACE(t);
  // One transaction that works whether or not the table exists.
  EXPECT_EQ(t.rfind("add table inet podns\ndelete table inet podns\ntable inet podns {\n", 0), 0u);
  EXPECT_TRUE(has_line(t, "\t\telements = { \"pw0\", \"pd0\" }"));
  EXPECT_TRUE(has_line(t, "\t\ttype ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service"));
  EXPECT_TRUE(has_line(t, "\t\t\t127.0.0.1 . tcp . 8080 : 10.89.0.2 . 80"));
  EXPECT_TRUE(has_line(t, "\t\t\tudp . 5353 : 10.89.0.3 . 53"));
  EXPECT_TRUE(has_line(t, "\t\t\tfd00:1::5 . tcp . 8443 : fd00:89::2 . 443"));
  EXPECT_TRUE(has_line(t, "\t\t\tsctp . 9999 : fd00:89::3 . 9"));
  // DNAT for local destinations only, bound forwards before any-address ones.
  EXPECT_TRUE(has_line(t, "\t\tfib daddr type local jump hostports"));
  EXPECT_TRUE(has_line(t, "\t\ttype nat hook prerouting priority dstnat; policy accept;"));
  EXPECT_TRUE(has_line(t, "\t\ttype nat hook output priority -100; policy accept;"));
  auto bound = t.find("dnat ip to ip daddr . meta l4proto . th dport map @fwd4_ip");
  auto any = t.find("meta nfproto ipv4 dnat ip to meta l4proto . th dport map @fwd4_any");
  ASSERT_NE(bound, std::string::npos);
  ASSERT_NE(any, std::string::npos);
  EXPECT_LT(bound, any);
  EXPECT_NE(t.find("dnat ip6 to ip6 daddr . meta l4proto . th dport map @fwd6_ip"), std::string::npos);
  // Masquerade: localhost forwards, hairpin, and each non-internal network's egress.
  EXPECT_NE(t.find("ct status dnat ip saddr 127.0.0.0/8 masquerade"), std::string::npos);
  EXPECT_NE(t.find("ct status dnat ip saddr { 10.89.0.0/24, 10.90.0.0/24 } oifname @bridges masquerade"),
            std::string::npos);
  EXPECT_NE(t.find("ct status dnat ip6 saddr fd00:89::/64 oifname @bridges masquerade"), std::string::npos);
  EXPECT_NE(t.find("ip saddr 10.89.0.0/24 ip daddr != 10.89.0.0/24 masquerade comment \"network web\""),
            std::string::npos);
  EXPECT_NE(t.find("ip6 saddr fd00:89::/64 ip6 daddr != fd00:89::/64 masquerade"), std::string::npos);
  EXPECT_EQ(t.find("ip saddr 10.90.0.0/24 ip daddr"), std::string::npos) << "internal networks are not masqueraded";
  // Filter: never a drop policy; isolation and internal.
  EXPECT_TRUE(has_line(t, "\t\ttype filter hook forward priority filter; policy accept;"));
  EXPECT_EQ(t.find("policy drop"), std::string::npos);
  EXPECT_NE(t.find("ct state established,related accept"), std::string::npos);
  EXPECT_NE(t.find("ct status dnat oifname @bridges accept"), std::string::npos);
  EXPECT_NE(t.find("iifname \"pw0\" oifname != \"pw0\" oifname @bridges drop"), std::string::npos);
  EXPECT_NE(t.find("iifname \"pd0\" oifname != \"pd0\" drop"), std::string::npos);
  EXPECT_NE(t.find("oifname \"pd0\" iifname != \"pd0\" drop"), std::string::npos);
  EXPECT_LT(t.find("oifname \"pd0\" iifname != \"pd0\" drop"), t.find("ct status dnat oifname @bridges accept"))
      << "nothing is published into an internal network";
}

TEST(RulesetText, RuleLinesDoNotDependOnForwards) {
  Ruleset rs = test::sample_ruleset("0");
  auto rules = [](const std::string& text) {
    std::string out;
    std::size_t at = 0;
    for (std::size_t nl; (nl = text.find('\n', at)) != std::string::npos; at = nl + 1) {
      std::string line = text.substr(at, nl - at);
      // Elements: "\t\telements = {", one line each (indented thrice), "\t\t}".
      if (line.rfind("\t\t\t", 0) != 0 && line != "\t\telements = {" && line != "\t\t}") out += line + "\n";
    }
    return out;
  };
  std::string without = ruleset_text("podns", rs);
  for (std::uint16_t p = 1; p <= 500; ++p) rs.forwards.push_back({Proto::tcp, "", p, "10.89.0.9", p});
  std::string with = ruleset_text("podns", rs);
  EXPECT_EQ(rules(with), rules(without));
}

TEST(RulesetText, ANetworkWithoutMasqueradeRoutesItsAddresses) {
  Ruleset rs = test::sample_ruleset("0");
  rs.networks[0].masquerade = false;  // podns-bridge with ipMasq false: a node's routed pod CIDR
  std::string t = ruleset_text("podns", rs);
  SCOPED_TRACE(t);
  EXPECT_EQ(t.find("masquerade comment \"network web\""), std::string::npos);
  // Still isolated from the other podns networks, still hairpinned for its published ports.
  EXPECT_TRUE(has_line(t, "\t\tiifname \"pw0\" oifname != \"pw0\" oifname @bridges drop comment \"network web is isolated\""));
  EXPECT_NE(t.find("oifname @bridges masquerade comment \"hairpin\""), std::string::npos);
}

TEST(RulesetText, NoNetworksDeletesTheTable) {
  Ruleset rs;
  rs.forwards = test::sample_forwards();  // checked, but there is nothing to attach them to
  EXPECT_EQ(ruleset_text("podns", rs), "add table inet podns\ndelete table inet podns\n");
}

TEST(RulesetText, InvalidInputGivesACommentOnly) {
  Ruleset rs = test::sample_ruleset("0");
  rs.networks[0].bridge = "br\"; flush ruleset";
  std::string t = ruleset_text("podns", rs);
  EXPECT_EQ(t.rfind("# podns: ", 0), 0u) << t;
  EXPECT_EQ(std::count(t.begin(), t.end(), '\n'), 1) << t;
  EXPECT_EQ(ruleset_text("counter", test::sample_ruleset("0")).rfind("# podns: ", 0), 0u);
}

TEST(Validate, TableNames) {
  for (std::string ok : std::vector<std::string>{"podns", "podns_t1", "p", "Podns-2.x", std::string(63, 'a')})
    EXPECT_TRUE(validate_table_name(ok).has_value()) << ok;
  for (std::string bad : std::vector<std::string>{"", "9podns", "_x", "a b", "a/b", "a\"b", "counter", "table", "ip", "dnat",
                          std::string(64, 'a')}) {
    auto r = validate_table_name(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_TRUE(r.error().is(Errc::invalid_name)) << bad;
  }
  auto fw = Firewall::open("inet filter");
  ASSERT_FALSE(fw.has_value());
  EXPECT_TRUE(fw.error().is(Errc::invalid_name)) << fw.error().message();
}

void expect_invalid_forward(const PortForward& f, const std::string& needle) {
  auto r = check_forward(f, "add[0]");
  ASSERT_FALSE(r.has_value()) << needle;
  EXPECT_TRUE(r.error().is(Errc::invalid_argument));
  EXPECT_NE(r.error().message().find(needle), std::string::npos) << r.error().message();
}

TEST(Validate, Forwards) {
  expect_invalid_forward({Proto::tcp, "", 80, "10.0.0.300", 80}, "add[0] pod_ip \"10.0.0.300\"");
  expect_invalid_forward({Proto::tcp, "", 80, "", 80}, "pod_ip");
  expect_invalid_forward({Proto::tcp, "localhost", 80, "10.0.0.3", 80}, "host_ip \"localhost\"");
  expect_invalid_forward({Proto::tcp, "::1", 80, "10.0.0.3", 80}, "not of the family of pod_ip");
  expect_invalid_forward({Proto::tcp, "127.0.0.1", 80, "fd00::3", 80}, "not of the family");
  expect_invalid_forward({Proto::tcp, "0.0.0.0", 80, "10.0.0.3", 80}, "\"\" means every local address");
  expect_invalid_forward({Proto::tcp, "::", 80, "fd00::3", 80}, "unspecified");
  expect_invalid_forward({Proto::tcp, "", 0, "10.0.0.3", 80}, "host_port: 0");
  expect_invalid_forward({Proto::tcp, "", 80, "10.0.0.3", 0}, "pod_port: 0");
  expect_invalid_forward({static_cast<Proto>(7), "", 80, "10.0.0.3", 80}, "proto");
  expect_invalid_forward({Proto::udp, "fe80::1%eth0", 80, "fe80::2", 80}, "host_ip");

  std::vector<PortForward> twice{{Proto::tcp, "", 80, "10.0.0.3", 80}, {Proto::tcp, "", 80, "10.0.0.4", 81}};
  auto dup = check_forwards(twice, "add", true);
  ASSERT_FALSE(dup.has_value());
  EXPECT_NE(dup.error().message().find("add[1]"), std::string::npos) << dup.error().message();
  auto removes = check_forwards(twice, "remove", false);  // removing one key twice is removing it once
  ASSERT_OK(removes);
  EXPECT_EQ(removes->size(), 1u);
  // Same port, other protocol / other address / other family: different keys.
  std::vector<PortForward> distinct{{Proto::tcp, "", 80, "10.0.0.3", 80},
                                    {Proto::udp, "", 80, "10.0.0.3", 80},
                                    {Proto::tcp, "127.0.0.1", 80, "10.0.0.3", 80},
                                    {Proto::tcp, "", 80, "fd00::3", 80}};
  ASSERT_OK(check_forwards(distinct, "add", true));
}

void expect_invalid_networks(std::vector<NetworkRules> nets, const std::string& needle) {
  auto r = check_networks(nets);
  ASSERT_FALSE(r.has_value()) << needle;
  EXPECT_TRUE(r.error().is(Errc::invalid_argument));
  EXPECT_NE(r.error().message().find(needle), std::string::npos) << r.error().message();
}

TEST(Validate, Networks) {
  expect_invalid_networks({{"web", "", {}, false}}, "network web bridge");
  expect_invalid_networks({{"web", "a-very-long-bridge", {}, false}}, "longer than 15");
  expect_invalid_networks({{"web", "br*", {}, false}}, "only letters");
  expect_invalid_networks({{"web", "br\"x", {}, false}}, "only letters");
  expect_invalid_networks({{"w b", "br0", {}, false}}, "networks[0] name");
  expect_invalid_networks({{"web", "br0", {"10.89.0.0"}, false}}, "not a CIDR");
  expect_invalid_networks({{"web", "br0", {"10.89.0.0/33"}, false}}, "prefix length must be 0..32");
  expect_invalid_networks({{"web", "br0", {"10.89.0.1/24"}, false}}, "host bits set (the network is 10.89.0.0/24)");
  expect_invalid_networks({{"web", "br0", {"fd00::1/64"}, false}}, "fd00::/64");
  expect_invalid_networks({{"web", "br0", {}, false}, {"web", "br1", {}, false}}, "listed twice");
  expect_invalid_networks({{"web", "br0", {}, false}, {"db", "br0", {}, false}}, "used by another network");
  auto ok = check_networks(std::vector<NetworkRules>{{"web", "br0", {"10.89.0.0/24", "fd00:89::/64"}, false},
                                                     {"empty", "br1", {}, true}});
  ASSERT_OK(ok);
  EXPECT_EQ((*ok)[0].v4.size(), 1u);
  EXPECT_EQ((*ok)[0].v6[0].str(), "fd00:89::/64");
}

TEST(Element, RegisterLayout) {
  // As `nft --debug=netlink` prints the element 127.0.0.1 . tcp . 8080 : 10.89.0.2 . 80.
  auto f = check_forward({Proto::tcp, "127.0.0.1", 8080, "10.89.0.2", 80}, "f");
  ASSERT_OK(f);
  ElementBytes e = encode_element(*f);
  EXPECT_EQ(e.map->name, "fwd4_ip");
  std::vector<std::uint8_t> key(e.key_bytes().begin(), e.key_bytes().end());
  std::vector<std::uint8_t> data(e.data_bytes().begin(), e.data_bytes().end());
  EXPECT_EQ(key, (std::vector<std::uint8_t>{127, 0, 0, 1, 6, 0, 0, 0, 0x1f, 0x90, 0, 0}));
  EXPECT_EQ(data, (std::vector<std::uint8_t>{10, 89, 0, 2, 0, 80, 0, 0}));
}

TEST(Element, RoundTripsEveryMap) {
  for (const PortForward& in : test::sample_forwards()) {
    auto c = check_forward(in, "f");
    ASSERT_OK(c);
    ElementBytes e = encode_element(*c);
    auto out = decode_element(*e.map, e.key_bytes(), e.data_bytes());
    ASSERT_OK(out);
    EXPECT_EQ(*out, in) << describe(in);
  }
  auto c = check_forward({Proto::tcp, "", 1, "10.0.0.1", 1}, "f");
  ASSERT_OK(c);
  ElementBytes e = encode_element(*c);
  e.key[0] = 200;  // not tcp, udp or sctp
  auto bad = decode_element(*e.map, e.key_bytes(), e.data_bytes());
  ASSERT_FALSE(bad.has_value());
  EXPECT_TRUE(bad.error().is(Errc::corrupt));
  EXPECT_FALSE(decode_element(*e.map, e.key_bytes().first(4), e.data_bytes()).has_value());
}

TEST(Proto, ParseAndPrint) {
  for (Proto p : {Proto::tcp, Proto::udp, Proto::sctp}) {
    auto back = parse_proto(to_string(p));
    ASSERT_OK(back);
    EXPECT_EQ(*back, p);
  }
  auto bad = parse_proto("icmp");
  ASSERT_FALSE(bad.has_value());
  EXPECT_TRUE(bad.error().is(Errc::invalid_argument));
}

TEST(NftError, KeepsTheErrnoAndOneLine) {
  Error perm = nft_error(
      "Error: Could not process rule: Operation not permitted\n"
      "add table inet podns\n"
      "^^^^^^^^^^^^^^^^^^^^\n");
  EXPECT_EQ(perm.sys_errno(), EPERM);
  EXPECT_EQ(perm.message(), "Error: Could not process rule: add table inet podns: Operation not permitted");
  Error syntax = nft_error(
      "/dev/stdin:1:1-3: Error: syntax error, unexpected junk\n"
      "xyz\n"
      "^^^\n");
  EXPECT_TRUE(syntax.is(Errc::invalid_argument));
  EXPECT_EQ(syntax.what().find('\n'), std::string::npos);
}

}  // namespace
}  // namespace podns::fw
