// Versioned CNI results: parsing every supported format, converting between them, refusing bad ones.
#include <gtest/gtest.h>

#include "podns/cni/types.hpp"
#include "test_support.hpp"

namespace podns::cni {
namespace {

using nlohmann::json;

const char* kResult040 = R"({
  "cniVersion": "0.4.0",
  "interfaces": [{"name": "cni0", "mac": "00:11:22:33:44:55"},
                 {"name": "eth0", "mac": "99:88:77:66:55:44", "sandbox": "/run/netns/blue"}],
  "ips": [{"version": "4", "address": "10.1.0.5/16", "gateway": "10.1.0.1", "interface": 1},
          {"version": "6", "address": "fd00::5/64", "interface": 1}],
  "routes": [{"dst": "0.0.0.0/0", "gw": "10.1.0.1"}, {"dst": "::/0"}],
  "dns": {"nameservers": ["10.1.0.1"], "domain": "example.com", "search": ["a.example.com"], "options": ["ndots:2"]}
})";

TEST(CniResult, Parses040AndEmitsEveryVersion) {
  auto r = parse_result_text(kResult040);
  ASSERT_OK(r);
  EXPECT_EQ(r->cni_version, "0.4.0");
  ASSERT_EQ(r->interfaces.size(), 2u);
  EXPECT_EQ(r->interfaces[1].sandbox, "/run/netns/blue");
  ASSERT_EQ(r->ips.size(), 2u);
  EXPECT_EQ(r->ips[0].interface, 1);
  EXPECT_TRUE(r->ips[1].ipv6());
  EXPECT_EQ(r->dns.search, std::vector<std::string>{"a.example.com"});

  for (std::string v : {"0.3.0", "0.3.1", "0.4.0"}) {
    auto j = r->to_json(v);
    ASSERT_OK(j);
    EXPECT_EQ((*j)["cniVersion"], v);
    EXPECT_EQ((*j)["ips"][0]["version"], "4") << v;
    EXPECT_EQ((*j)["ips"][1]["version"], "6") << v;
  }
  for (std::string v : {"1.0.0", "1.1.0"}) {
    auto j = r->to_json(v);
    ASSERT_OK(j);
    EXPECT_FALSE((*j)["ips"][0].contains("version")) << v;  // 1.0.0 dropped the field
    EXPECT_EQ((*j)["ips"][0]["address"], "10.1.0.5/16");
    EXPECT_EQ((*j)["routes"][0]["gw"], "10.1.0.1");
  }
}

TEST(CniResult, RoundTripsThroughEveryVersion) {
  auto r = parse_result_text(kResult040);
  ASSERT_OK(r);
  for (auto v : supported_versions()) {
    auto j = r->to_json(v);
    ASSERT_OK(j);
    auto back = parse_result(*j);
    ASSERT_OK(back);
    CniResult expect = *r;
    expect.cni_version = std::string(v);
    EXPECT_EQ(*back, expect) << v;
  }
}

TEST(CniResult, NewFieldsOf110SurviveOnlyIn110) {
  auto r = parse_result_text(R"({"cniVersion":"1.1.0",
    "interfaces":[{"name":"eth0","mac":"02:00:00:00:00:01","mtu":1400,"sandbox":"/x","socketPath":"/s","pciID":"0000:00:01.0"}],
    "ips":[{"address":"10.0.0.2/24","interface":0}],
    "routes":[{"dst":"10.2.0.0/16","gw":"10.0.0.1","mtu":1300,"advmss":1200,"priority":5,"table":100,"scope":0}]})");
  ASSERT_OK(r);
  EXPECT_EQ(r->interfaces[0].mtu, 1400);
  EXPECT_EQ(r->routes[0].table, 100);
  auto j110 = r->to_json("1.1.0");
  ASSERT_OK(j110);
  EXPECT_EQ((*j110)["interfaces"][0]["socketPath"], "/s");
  EXPECT_EQ((*j110)["routes"][0]["priority"], 5);
  auto j100 = r->to_json("1.0.0");
  ASSERT_OK(j100);
  EXPECT_FALSE((*j100)["interfaces"][0].contains("mtu"));
  EXPECT_FALSE((*j100)["routes"][0].contains("table"));
  EXPECT_EQ((*j100)["routes"][0]["gw"], "10.0.0.1");
}

TEST(CniResult, DefaultVersionAppliesOnlyWhenMissing) {
  auto r = parse_result_text(R"({"ips":[{"address":"10.0.0.2/24"}]})", "1.0.0");
  ASSERT_OK(r);
  EXPECT_EQ(r->cni_version, "1.0.0");
  auto none = parse_result_text(R"({"ips":[]})");
  ASSERT_FALSE(none);
  EXPECT_TRUE(none.error().is(Errc::corrupt));
}

TEST(CniResult, RefusesBadResultsNamingTheField) {
  struct Case {
    const char* json;
    const char* needle;
  } cases[] = {
      {R"([1,2])", "not a JSON object"},
      {R"({"cniVersion":"0.2.0"})", "0.2.0"},
      {R"({"cniVersion":"9.9.9"})", "9.9.9"},
      {R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.300/24"}]})", "ips[0].address"},
      {R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.3"}]})", "CIDR"},
      {R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.3/33"}]})", "ips[0].address"},
      {R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.3/24","gateway":"fd00::1"}]})", "gateway"},
      {R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.3/24","interface":0}]})", "no such interface"},
      {R"({"cniVersion":"1.0.0","interfaces":[{"name":"a"}],"ips":[{"address":"10.0.0.3/24","interface":-1}]})", "interface"},
      {R"({"cniVersion":"0.4.0","ips":[{"version":"6","address":"10.0.0.3/24"}]})", "version"},
      {R"({"cniVersion":"1.0.0","interfaces":{"name":"a"}})", "interfaces: not a list"},
      {R"({"cniVersion":"1.0.0","interfaces":[{"name":7}]})", "interfaces[0].name"},
      {R"({"cniVersion":"1.0.0","routes":[{"dst":"x"}]})", "routes[0].dst"},
      {R"({"cniVersion":"1.0.0","routes":[{"dst":"::/0","gw":"10.0.0.1"}]})", "routes[0].gw"},
      {R"({"cniVersion":"1.1.0","routes":[{"dst":"::/0","mtu":"big"}]})", "mtu"},
      {R"({"cniVersion":"1.1.0","routes":[{"dst":"::/0","mtu":99999999999}]})", "mtu"},
      {R"({"cniVersion":"1.0.0","dns":{"nameservers":"1.1.1.1"}})", "nameservers"},
      {R"({"cniVersion":"1.0.0",)", "invalid JSON"},
      {"", "invalid JSON"},
  };
  for (auto& c : cases) {
    auto r = parse_result_text(c.json);
    ASSERT_FALSE(r) << c.json;
    EXPECT_NE(r.error().message().find(c.needle), std::string::npos) << c.json << " -> " << r.error().message();
  }
}

TEST(CniResult, RefusesUnsupportedOutputVersion) {
  CniResult r;
  r.cni_version = "1.0.0";
  auto j = r.to_json("0.2.0");
  ASSERT_FALSE(j);
  EXPECT_TRUE(j.error().is(Errc::unsupported));
}

TEST(Versions, CompareAndSupport) {
  EXPECT_EQ(*compare_versions("0.4.0", "1.0.0"), -1);
  EXPECT_EQ(*compare_versions("1.10.0", "1.9.0"), 1);
  EXPECT_EQ(*compare_versions("1.1.0", "1.1.0"), 0);
  EXPECT_FALSE(compare_versions("1.0", "1.0.0"));
  EXPECT_FALSE(compare_versions("a.b.c", "1.0.0"));
  EXPECT_FALSE(compare_versions("1.0.0.0", "1.0.0"));
  EXPECT_TRUE(version_supported("0.3.1"));
  EXPECT_FALSE(version_supported("0.2.0"));
}

}  // namespace
}  // namespace podns::cni
