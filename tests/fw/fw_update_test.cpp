// update(): the per-pod element batch against the real kernel, each test on a table of its own.
#include <gtest/gtest.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>

#include <algorithm>
#include <set>
#include <string>

#include "fw/element_batch.hpp"
#include "fw/nfnl.hpp"
#include "fw/validate.hpp"
#include "fw_test_util.hpp"
#include "podns/fw/firewall.hpp"

namespace podns::fw {
namespace {

using test::nft_json;
using test::TableGuard;

using test::tag;

std::vector<PortForward> sorted(std::vector<PortForward> v) {
  std::sort(v.begin(), v.end(), [](const PortForward& a, const PortForward& b) {
    return std::tie(a.proto, a.host_ip, a.host_port, a.pod_ip, a.pod_port) <
           std::tie(b.proto, b.host_ip, b.host_port, b.pod_ip, b.pod_port);
  });
  return v;
}

std::vector<PortForward> installed_forwards(Firewall& fw) {
  auto inst = fw.installed();
  EXPECT_TRUE(inst.has_value()) << inst.error().message();
  return inst ? inst->forwards : std::vector<PortForward>{};
}

// A Firewall on a synced table with no forwards.
struct Synced {
  TableGuard guard;
  std::optional<Firewall> fw;
  Synced() {
    auto opened = Firewall::open(guard.name());
    EXPECT_TRUE(opened.has_value());
    if (!opened) return;
    fw.emplace(std::move(*opened));
    auto s = fw->sync(test::sample_ruleset(tag()));
    EXPECT_TRUE(s.has_value()) << s.error().message();
  }
};

// nft's own rendering of a map's elements: "key : value" with concatenations joined by " . ".
std::set<std::string> nft_elements(const std::string& table, const std::string& map) {
  std::set<std::string> out;
  auto j = nft_json({"map", "inet", table, map});
  if (!j.is_object()) return out;
  auto join = [](const nlohmann::json& v) {
    if (!v.is_object() || !v.contains("concat")) return v.is_string() ? v.get<std::string>() : v.dump();
    std::string s;
    for (const auto& part : v["concat"]) {
      if (!s.empty()) s += " . ";
      s += part.is_string() ? part.get<std::string>() : part.dump();
    }
    return s;
  };
  for (const auto& item : j["nftables"]) {
    if (!item.contains("map") || !item["map"].contains("elem")) continue;
    for (const auto& e : item["map"]["elem"]) out.insert(join(e[0]) + " : " + join(e[1]));
  }
  return out;
}

TEST(Update, AddsElementsNftReadsBack) {
  REQUIRE_NFT();
  Synced s;
  ASSERT_TRUE(s.fw);
  ASSERT_OK(s.fw->update(test::sample_forwards(), {}));
  // The register layout as nft itself decodes it, one map per family and binding.
  const std::string& t = s.guard.name();
  EXPECT_EQ(nft_elements(t, "fwd4_ip"), std::set<std::string>{"127.0.0.1 . tcp . 8080 : 10.89.0.2 . 80"});
  EXPECT_EQ(nft_elements(t, "fwd4_any"), std::set<std::string>{"udp . 5353 : 10.89.0.3 . 53"});
  EXPECT_EQ(nft_elements(t, "fwd6_ip"), std::set<std::string>{"fd00:1::5 . tcp . 8443 : fd00:89::2 . 443"});
  EXPECT_EQ(nft_elements(t, "fwd6_any"), std::set<std::string>{"sctp . 9999 : fd00:89::3 . 9"});
  EXPECT_EQ(installed_forwards(*s.fw), sorted(test::sample_forwards()));
}

TEST(Update, RemovesAndAddsInOneCall) {
  REQUIRE_NFT();
  Synced s;
  ASSERT_TRUE(s.fw);
  auto all = test::sample_forwards();
  ASSERT_OK(s.fw->update(all, {}));
  std::vector<PortForward> gone{all[0], all[3]};
  ASSERT_OK(s.fw->update({}, gone));
  EXPECT_EQ(installed_forwards(*s.fw), sorted({all[1], all[2]}));
  // The same key to another pod: remove and add in one transaction.
  PortForward moved = all[1];
  moved.pod_ip = "10.89.0.77";
  ASSERT_OK(s.fw->update(std::vector<PortForward>{moved}, std::vector<PortForward>{all[1]}));
  EXPECT_EQ(installed_forwards(*s.fw), sorted({moved, all[2]}));
  // Removal matches by key (protocol, host address, port), whatever the pod.
  ASSERT_OK(s.fw->update({}, std::vector<PortForward>{all[1]}));
  EXPECT_EQ(installed_forwards(*s.fw), sorted({all[2]}));
}

TEST(Update, CollisionChangesNothing) {
  REQUIRE_NFT();
  Synced s;
  ASSERT_TRUE(s.fw);
  PortForward a{Proto::tcp, "", 8080, "10.89.0.2", 80};
  ASSERT_OK(s.fw->update(std::vector<PortForward>{a}, {}));
  PortForward b{Proto::tcp, "", 8081, "10.89.0.3", 80};
  PortForward clash{Proto::tcp, "", 8080, "10.89.0.4", 80};
  PortForward c{Proto::udp, "", 8080, "10.89.0.3", 80};
  auto r = s.fw->update(std::vector<PortForward>{b, clash}, std::vector<PortForward>{c});
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().is(Errc::already_exists)) << r.error().message();
  EXPECT_NE(r.error().message().find("tcp *:8080 -> 10.89.0.4:80"), std::string::npos) << r.error().message();
  EXPECT_EQ(installed_forwards(*s.fw), std::vector<PortForward>{a}) << "b must not have been added";
  // The socket is fine after a failed batch.
  ASSERT_OK(s.fw->update(std::vector<PortForward>{b}, {}));
  EXPECT_EQ(installed_forwards(*s.fw), sorted({a, b}));
}

TEST(Update, RemovingAbsentElementsIsFine) {
  REQUIRE_NFT();
  Synced s;
  ASSERT_TRUE(s.fw);
  auto all = test::sample_forwards();
  ASSERT_OK(s.fw->update({}, all));  // none there
  ASSERT_OK(s.fw->update(std::vector<PortForward>{all[0]}, {}));
  ASSERT_OK(s.fw->update(std::vector<PortForward>{all[2]}, all));  // one there, three not, then one added
  EXPECT_EQ(installed_forwards(*s.fw), std::vector<PortForward>{all[2]});
  ASSERT_OK(s.fw->update({}, {}));  // nothing to do: no kernel call
}

TEST(Update, MissingTableIsNotFound) {
  REQUIRE_NFT();
  TableGuard t;
  auto fw = Firewall::open(t.name());
  ASSERT_OK(fw);
  auto all = test::sample_forwards();
  auto r = fw->update(all, {});
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().is(Errc::not_found)) << r.error().message();
  r = fw->update({}, all);
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().is(Errc::not_found)) << r.error().message();
  EXPECT_FALSE(test::table_exists(t.name()));
  // The caller's remedy: sync, then retry.
  ASSERT_OK(fw->sync(test::sample_ruleset(tag())));
  ASSERT_OK(fw->update(all, {}));
}

TEST(Update, InvalidInputChangesNothing) {
  REQUIRE_NFT();
  Synced s;
  ASSERT_TRUE(s.fw);
  auto all = test::sample_forwards();
  ASSERT_OK(s.fw->update(std::vector<PortForward>{all[0]}, {}));
  std::vector<PortForward> add{all[1], {Proto::tcp, "", 80, "10.89.0.300", 80}};
  auto r = s.fw->update(add, {});
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().is(Errc::invalid_argument));
  EXPECT_NE(r.error().message().find("add[1] pod_ip"), std::string::npos) << r.error().message();
  r = s.fw->update(std::vector<PortForward>{all[1]}, std::vector<PortForward>{{Proto::tcp, "", 0, "10.89.0.2", 80}});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("remove[0] host_port"), std::string::npos) << r.error().message();
  EXPECT_EQ(installed_forwards(*s.fw), std::vector<PortForward>{all[0]});
}

TEST(Update, ThousandsOfElementsInOneBatch) {
  REQUIRE_NFT();
  Synced s;
  ASSERT_TRUE(s.fw);
  std::vector<PortForward> many;
  for (int i = 0; i < 3000; ++i)
    many.push_back({Proto::tcp, "", static_cast<std::uint16_t>(20000 + i), "fd00:89::" + std::to_string(i % 200 + 2),
                    static_cast<std::uint16_t>(1 + i)});
  ASSERT_OK(s.fw->update(many, {}));  // ~400 KB: more than the default socket send buffer
  EXPECT_EQ(installed_forwards(*s.fw).size(), 3000u);
  // All 3000 collide: every one is an error reply; the batch fails whole and the socket recovers.
  auto r = s.fw->update(many, {});
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().is(Errc::already_exists)) << r.error().message();
  ASSERT_OK(s.fw->update({}, many));
  EXPECT_TRUE(installed_forwards(*s.fw).empty());
}

// The DELSETELEM path of kernels before 6.3, forced on this one.
TEST(Update, DelSetElemFallback) {
  REQUIRE_NFT();
  Synced s;
  ASSERT_TRUE(s.fw);
  auto sock = NfnlSocket::open();
  ASSERT_OK(sock);
  auto all = test::sample_forwards();
  auto checked = check_forwards(all, "add", true);
  ASSERT_OK(checked);
  RemoveMode mode = RemoveMode::del;
  std::span<const CheckedForward> span(*checked);
  ASSERT_OK(write_elements(*sock, s.guard.name(), span.first(2), {}, mode));
  // Two of the four are there: the other two come back ENOENT and are dropped from the batch.
  ASSERT_OK(write_elements(*sock, s.guard.name(), span.subspan(3), span, mode));
  EXPECT_EQ(mode, RemoveMode::del);
  EXPECT_EQ(installed_forwards(*s.fw), std::vector<PortForward>{all[3]});
  ASSERT_OK(write_elements(*sock, s.guard.name(), {}, span, mode));  // every one absent or removed
  EXPECT_TRUE(installed_forwards(*s.fw).empty());

  TableGuard missing;
  auto r = write_elements(*sock, missing.name(), {}, span, mode);
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().is(Errc::not_found)) << r.error().message();
}

// EINVAL from destroy is taken for "the kernel lacks destroy" and DELSETELEM is tried; EINVAL
// again means the element is wrong (here: a map of that name with another key type), and destroy
// stays the mode.
TEST(Update, WrongMapTypeIsEinvalAndKeepsDestroy) {
  REQUIRE_NFT();
  TableGuard t;
  auto fw = Firewall::open(t.name());
  ASSERT_OK(fw);
  std::string script = "table inet " + t.name() + " {\n map fwd4_any {\n  type inet_service : ipv4_addr\n }\n}\n";
  auto load = podns::test::run({"nft", "-f", "-"}, {}, script);
  ASSERT_EQ(load.exit_code, 0) << load.err;
  RemoveMode before = process_remove_mode();
  auto r = fw->update({}, std::vector<PortForward>{{Proto::tcp, "", 80, "10.0.0.2", 80}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().sys_errno(), EINVAL) << r.error().message();
  EXPECT_NE(r.error().message().find("remove tcp *:80 -> 10.0.0.2:80"), std::string::npos) << r.error().message();
  EXPECT_EQ(process_remove_mode(), before);
}

TEST(Update, DestroyIsUsedWhereTheKernelHasIt) {
  REQUIRE_NFT();
  struct utsname u {};
  ::uname(&u);
  int major = 0, minor = 0;
  std::sscanf(u.release, "%d.%d", &major, &minor);
  if (major < 6 || (major == 6 && minor < 3)) GTEST_SKIP() << "Linux " << u.release << " has no DESTROYSETELEM";
  // The first update's removal probes destroy; it must not have fallen back.
  Synced s;
  ASSERT_TRUE(s.fw);
  ASSERT_OK(s.fw->update({}, test::sample_forwards()));
  EXPECT_EQ(process_remove_mode(), RemoveMode::destroy);
}

}  // namespace
}  // namespace podns::fw
