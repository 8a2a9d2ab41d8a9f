// IpAddr and Cidr: parsing (one canonical spelling per address), stepping, containment, overlap.
#include "podns/network/ip.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "test_support.hpp"

namespace podns::network {
namespace {

IpAddr ip(std::string_view text) {
  auto a = IpAddr::parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpAddr{});
}
Cidr cidr(std::string_view text) {
  auto c = Cidr::parse(text);
  EXPECT_TRUE(c.has_value()) << text << ": " << (c ? "" : c.error().message());
  return c.value_or(Cidr{});
}

TEST(IpAddr, ParsesBothFamilies) {
  auto v4 = IpAddr::parse("10.89.0.5");
  ASSERT_OK(v4);
  EXPECT_EQ(v4->family, AF_INET);
  EXPECT_EQ(v4->bits(), 32);
  EXPECT_EQ(v4->bytes[0], 10);
  EXPECT_EQ(v4->bytes[3], 5);
  EXPECT_EQ(v4->bytes[4], 0);  // the unused tail stays zero: equality means the same address
  EXPECT_EQ(v4->str(), "10.89.0.5");

  auto v6 = IpAddr::parse("fd00::5");
  ASSERT_OK(v6);
  EXPECT_EQ(v6->family, AF_INET6);
  EXPECT_EQ(v6->bits(), 128);
  EXPECT_EQ(v6->bytes[0], 0xfd);
  EXPECT_EQ(v6->bytes[15], 5);
  EXPECT_EQ(ip("0.0.0.0").str(), "0.0.0.0");
  EXPECT_EQ(ip("255.255.255.255").str(), "255.255.255.255");
  EXPECT_EQ(ip("::").str(), "::");
  // An IPv4-mapped address is an IPv6 one.
  EXPECT_EQ(ip("::ffff:10.0.0.1").family, AF_INET6);
  EXPECT_EQ(ip("::ffff:10.0.0.1").str(), "::ffff:10.0.0.1");
}

TEST(IpAddr, PrintsIPv6Canonically) {
  // One spelling per address, whatever the input: the state database compares text.
  EXPECT_EQ(ip("FD00:0:0:0:0:0:0:1").str(), "fd00::1");
  EXPECT_EQ(ip("fd00:0000:0000::0001").str(), "fd00::1");
  EXPECT_EQ(ip("2001:db8:0:0:1:0:0:1").str(), "2001:db8::1:0:0:1");  // the first of two equal runs
  EXPECT_EQ(ip("2001:db8:0:1:1:1:1:1").str(), "2001:db8:0:1:1:1:1:1");  // one zero field stays
  EXPECT_EQ(ip("fd00::1"), ip("FD00:0::1"));
}

TEST(IpAddr, RejectsWhatIsNoAddress) {
  using namespace std::string_view_literals;
  for (auto bad : {""sv, "10.1"sv, "10.0.0"sv, "10.0.0.256"sv, "010.0.0.1"sv, " 10.0.0.1"sv, "10.0.0.1 "sv,
                   "10.0.0.1/24"sv, "fe80::1%eth0"sv, "1:2:3:4:5:6:7:8:9"sv, "gg::1"sv, "::1::"sv, "web"sv,
                   "10.0.0.1\0junk"sv}) {
    auto r = IpAddr::parse(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_TRUE(r.error().is(Errc::invalid_argument));
  }
  EXPECT_FALSE(IpAddr::parse(std::string(100, '1')));
  auto r = IpAddr::parse("web");
  EXPECT_NE(r.error().message().find("\"web\" is not an IP address"), std::string::npos) << r.error().message();
}

TEST(IpAddr, PlusStepsAndStopsAtTheEnds) {
  EXPECT_EQ(ip("10.0.0.255").plus(1), ip("10.0.1.0"));
  EXPECT_EQ(ip("10.0.1.0").plus(-1), ip("10.0.0.255"));
  EXPECT_EQ(ip("10.0.0.5").plus(-5), ip("10.0.0.0"));
  EXPECT_EQ(ip("10.0.0.5").plus(0), ip("10.0.0.5"));
  EXPECT_EQ(ip("255.255.255.254").plus(1), ip("255.255.255.255"));
  EXPECT_EQ(ip("255.255.255.255").plus(1), std::nullopt);
  EXPECT_EQ(ip("0.0.0.0").plus(-1), std::nullopt);
  EXPECT_EQ(ip("10.0.0.0").plus(std::numeric_limits<std::int64_t>::max()), std::nullopt);  // IPv4 is 32 bits
  EXPECT_EQ(ip("10.0.0.0").plus(std::numeric_limits<std::int64_t>::min()), std::nullopt);
  // IPv6: the carry crosses the 64-bit halves.
  EXPECT_EQ(ip("::ffff:ffff:ffff:ffff").plus(1), ip("0:0:0:1::"));
  EXPECT_EQ(ip("0:0:0:1::").plus(-1), ip("::ffff:ffff:ffff:ffff"));
  EXPECT_EQ(ip("::").plus(1)->str(), "::1");
  EXPECT_EQ(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").plus(1), std::nullopt);
  EXPECT_EQ(ip("::").plus(-1), std::nullopt);
  EXPECT_EQ(ip("::").plus(std::numeric_limits<std::int64_t>::min()), std::nullopt);
  EXPECT_EQ(ip("::1:0:0:0:0").plus(std::numeric_limits<std::int64_t>::min()), ip("::8000:0:0:0"));
  auto big = ip("::").plus(std::numeric_limits<std::int64_t>::max());
  ASSERT_TRUE(big);
  EXPECT_EQ(big->str(), "::7fff:ffff:ffff:ffff");
}

TEST(IpAddr, OrdersNumericallyWithinAFamily) {
  EXPECT_LT(ip("10.0.0.2"), ip("10.0.0.10"));  // unlike the text
  EXPECT_LT(ip("10.0.0.255"), ip("10.0.1.0"));
  EXPECT_LT(ip("fd00::2"), ip("fd00::1:0"));
}

TEST(Cidr, ParsesAndPrintsCanonically) {
  auto c = Cidr::parse("10.89.0.0/24");
  ASSERT_OK(c);
  EXPECT_EQ(c->addr, ip("10.89.0.0"));
  EXPECT_EQ(c->prefix, 24);
  EXPECT_EQ(c->str(), "10.89.0.0/24");
  EXPECT_EQ(cidr("FD00:1:0::/64").str(), "fd00:1::/64");
  EXPECT_EQ(cidr("0.0.0.0/0").str(), "0.0.0.0/0");
  EXPECT_EQ(cidr("::/0").str(), "::/0");
  EXPECT_EQ(cidr("10.0.0.1/32").str(), "10.0.0.1/32");
  EXPECT_EQ(cidr("fd00::1/128").str(), "fd00::1/128");
  EXPECT_EQ(cidr("10.89.0.0/24"), cidr("10.89.0.0/24"));
}

TEST(Cidr, RejectsBadPrefixes) {
  for (auto bad : {"10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/08",
                   "10.0.0.0/8x", "10.0.0.0/24/1", "10.0.0/24", "/24", "web/24", "10.0.0.0/99999999999999"}) {
    auto r = Cidr::parse(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_TRUE(r.error().is(Errc::invalid_argument)) << bad;
  }
  auto r = Cidr::parse("10.0.0.0/33");
  EXPECT_NE(r.error().message().find("out of range for IPv4 (0-32)"), std::string::npos) << r.error().message();
  r = Cidr::parse("fd00::/200");
  EXPECT_NE(r.error().message().find("out of range for IPv6 (0-128)"), std::string::npos) << r.error().message();
}

TEST(Cidr, HostBitsSetSaysWhichNetworkIsMeant) {
  auto r = Cidr::parse("10.89.0.5/24");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::invalid_argument));
  EXPECT_NE(r.error().message().find("host bits set (the network is 10.89.0.0/24)"), std::string::npos)
      << r.error().message();
  r = Cidr::parse("fd00::1/64");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("fd00::/64"), std::string::npos) << r.error().message();
  EXPECT_FALSE(Cidr::parse("10.0.0.1/31"));
  EXPECT_FALSE(Cidr::parse("128.0.0.0/0"));
}

TEST(Cidr, ContainsAndLast) {
  auto n = cidr("10.89.0.0/24");
  EXPECT_TRUE(n.contains(ip("10.89.0.0")));
  EXPECT_TRUE(n.contains(ip("10.89.0.255")));
  EXPECT_FALSE(n.contains(ip("10.89.1.0")));
  EXPECT_FALSE(n.contains(ip("10.88.255.255")));
  EXPECT_FALSE(n.contains(ip("::ffff:10.89.0.5")));  // another family
  EXPECT_EQ(n.first(), ip("10.89.0.0"));
  EXPECT_EQ(n.last(), ip("10.89.0.255"));
  EXPECT_EQ(cidr("10.89.0.0/23").last(), ip("10.89.1.255"));
  EXPECT_EQ(cidr("10.0.0.7/32").last(), ip("10.0.0.7"));
  EXPECT_TRUE(cidr("10.0.0.7/32").contains(ip("10.0.0.7")));
  EXPECT_FALSE(cidr("10.0.0.7/32").contains(ip("10.0.0.6")));
  EXPECT_EQ(cidr("0.0.0.0/0").last(), ip("255.255.255.255"));
  EXPECT_TRUE(cidr("0.0.0.0/0").contains(ip("1.2.3.4")));
  EXPECT_FALSE(cidr("0.0.0.0/0").contains(ip("::1")));

  auto v6 = cidr("fd00:1::/64");
  EXPECT_TRUE(v6.contains(ip("fd00:1::ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(v6.contains(ip("fd00:1:0:1::")));
  EXPECT_FALSE(v6.contains(ip("10.0.0.1")));
  EXPECT_EQ(v6.last(), ip("fd00:1::ffff:ffff:ffff:ffff"));
  EXPECT_EQ(cidr("::/0").last(), ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_TRUE(cidr("::/0").contains(ip("fd00::1")));
  EXPECT_EQ(cidr("fd00::8/125").last(), ip("fd00::f"));
}

TEST(Cidr, Overlaps) {
  auto big = cidr("10.0.0.0/8");
  auto small = cidr("10.89.0.0/24");
  EXPECT_TRUE(big.overlaps(small));
  EXPECT_TRUE(small.overlaps(big));
  EXPECT_TRUE(small.overlaps(small));
  EXPECT_FALSE(small.overlaps(cidr("10.89.1.0/24")));
  EXPECT_TRUE(cidr("10.89.0.0/23").overlaps(cidr("10.89.1.128/25")));
  EXPECT_FALSE(cidr("10.89.0.0/24").overlaps(cidr("10.89.1.128/25")));
  EXPECT_TRUE(cidr("0.0.0.0/0").overlaps(small));
  EXPECT_FALSE(cidr("0.0.0.0/0").overlaps(cidr("::/0")));
  EXPECT_FALSE(cidr("::/0").overlaps(small));
  EXPECT_TRUE(cidr("fd00::/48").overlaps(cidr("fd00:0:0:5::/64")));
  EXPECT_FALSE(cidr("fd00::/64").overlaps(cidr("fd00:0:0:5::/64")));
}

}  // namespace
}  // namespace podns::network
