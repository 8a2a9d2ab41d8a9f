// sync() and installed() against the real kernel, each test on a table of its own (TableGuard).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <string>

#include "fw_test_util.hpp"
#include "podns/fw/firewall.hpp"

namespace podns::fw {
namespace {

using test::count_objects;
using test::nft_json;
using test::TableGuard;

using test::tag;

TEST(Sync, BuildsTheTable) {
  REQUIRE_NFT();
  TableGuard t;
  auto fw = Firewall::open(t.name());
  ASSERT_OK(fw);
  EXPECT_EQ(fw->table(), t.name());
  Ruleset rs = test::sample_ruleset(tag());
  rs.forwards = test::sample_forwards();
  ASSERT_OK(fw->sync(rs));

  auto j = nft_json({"table", "inet", t.name()});
  ASSERT_TRUE(j.is_object());
  std::set<std::string> chains, maps, sets;
  std::map<std::string, std::string> hooks;
  for (const auto& item : j["nftables"]) {
    if (item.contains("chain")) {
      chains.insert(item["chain"]["name"].get<std::string>());
      if (item["chain"].contains("hook"))
        hooks[item["chain"]["name"]] = item["chain"]["hook"].get<std::string>() + "/" +
                                       item["chain"]["type"].get<std::string>() + "/" +
                                       item["chain"]["policy"].get<std::string>();
    }
    if (item.contains("map")) maps.insert(item["map"]["name"].get<std::string>());
    if (item.contains("set")) sets.insert(item["set"]["name"].get<std::string>());
  }
  EXPECT_EQ(chains, (std::set<std::string>{"hostports", "prerouting", "output", "postrouting", "forward"}));
  EXPECT_EQ(maps, (std::set<std::string>{"fwd4_ip", "fwd4_any", "fwd6_ip", "fwd6_any"}));
  EXPECT_EQ(sets, (std::set<std::string>{"bridges"}));
  EXPECT_EQ(hooks["prerouting"], "prerouting/nat/accept");
  EXPECT_EQ(hooks["output"], "output/nat/accept");
  EXPECT_EQ(hooks["postrouting"], "postrouting/nat/accept");
  EXPECT_EQ(hooks["forward"], "forward/filter/accept");
  // hostports 4; prerouting, output 1 each; postrouting: localhost, hairpin v4 + v6, web v4 + v6;
  // forward: established, 2 internal (db), published, isolation (web).
  EXPECT_EQ(count_objects(t.name(), "rule"), 4 + 1 + 1 + 5 + 5);

  auto inst = fw->installed();
  ASSERT_OK(inst);
  EXPECT_TRUE(inst->table);
  EXPECT_TRUE(inst->complete);
  std::vector<std::string> bridges{"pd" + tag(), "pw" + tag()};
  EXPECT_EQ(inst->bridges, bridges);
  auto want = test::sample_forwards();
  std::sort(want.begin(), want.end(), [](auto& a, auto& b) { return a.host_port < b.host_port; });
  auto got = inst->forwards;
  std::sort(got.begin(), got.end(), [](auto& a, auto& b) { return a.host_port < b.host_port; });
  EXPECT_EQ(got, want);
}

TEST(Sync, ReplacesWholeAndTheRuleCountIgnoresForwards) {
  REQUIRE_NFT();
  TableGuard t;
  auto fw = Firewall::open(t.name());
  ASSERT_OK(fw);
  Ruleset rs = test::sample_ruleset(tag());
  ASSERT_OK(fw->sync(rs));
  int rules = count_objects(t.name(), "rule");
  EXPECT_GT(rules, 0);
  std::string first = podns::test::run({"nft", "list", "table", "inet", t.name()}).out;

  ASSERT_OK(fw->sync(rs));  // idempotent
  EXPECT_EQ(podns::test::run({"nft", "list", "table", "inet", t.name()}).out, first);

  for (int i = 0; i < 1000; ++i) {
    auto port = static_cast<std::uint16_t>(10000 + i);
    std::string pod = "10.89.0." + std::to_string(2 + i % 250);
    rs.forwards.push_back({i % 2 ? Proto::udp : Proto::tcp, i % 3 ? "" : "127.0.0.1", port, pod, 80});
  }
  ASSERT_OK(fw->sync(rs));
  EXPECT_EQ(count_objects(t.name(), "rule"), rules);
  auto inst = fw->installed();
  ASSERT_OK(inst);
  EXPECT_EQ(inst->forwards.size(), 1000u);
  EXPECT_TRUE(inst->complete);

  // Replaced, not merged: elements and networks that are gone from the ruleset are gone.
  rs.forwards.resize(10);
  rs.networks.pop_back();
  ASSERT_OK(fw->sync(rs));
  inst = fw->installed();
  ASSERT_OK(inst);
  EXPECT_EQ(inst->forwards.size(), 10u);
  EXPECT_EQ(inst->bridges, std::vector<std::string>{"pw" + tag()});
  EXPECT_LT(count_objects(t.name(), "rule"), rules);
}

TEST(Sync, NoNetworksDeletesTheTable) {
  REQUIRE_NFT();
  TableGuard t;
  auto fw = Firewall::open(t.name());
  ASSERT_OK(fw);
  ASSERT_OK(fw->sync(Ruleset{}));  // absent already: no error
  EXPECT_FALSE(test::table_exists(t.name()));
  ASSERT_OK(fw->sync(test::sample_ruleset(tag())));
  EXPECT_TRUE(test::table_exists(t.name()));
  ASSERT_OK(fw->sync(Ruleset{}));
  EXPECT_FALSE(test::table_exists(t.name()));
  auto inst = fw->installed();
  ASSERT_OK(inst);
  EXPECT_FALSE(inst->table);
  EXPECT_FALSE(inst->complete);
  EXPECT_TRUE(inst->forwards.empty());
}

TEST(Sync, InvalidInputChangesNothing) {
  REQUIRE_NFT();
  TableGuard t;
  auto fw = Firewall::open(t.name());
  ASSERT_OK(fw);
  Ruleset rs = test::sample_ruleset(tag());
  rs.forwards = test::sample_forwards();
  ASSERT_OK(fw->sync(rs));
  std::string before = podns::test::run({"nft", "list", "table", "inet", t.name()}).out;

  Ruleset bad = rs;
  bad.networks[1].subnets.push_back("10.91.0.1/24");
  auto r = fw->sync(bad);
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().is(Errc::invalid_argument));
  EXPECT_NE(r.error().message().find("network db subnet \"10.91.0.1/24\""), std::string::npos) << r.error().message();

  bad = rs;
  bad.forwards.push_back({Proto::tcp, "", 5353, "10.89.0.4", 53});  // udp 5353 is taken, tcp is not
  bad.forwards.push_back({Proto::udp, "", 5353, "10.89.0.4", 53});
  r = fw->sync(bad);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("forwards[5]"), std::string::npos) << r.error().message();

  bad = rs;
  bad.forwards[0].pod_port = 0;
  EXPECT_FALSE(fw->sync(bad).has_value());
  EXPECT_EQ(podns::test::run({"nft", "list", "table", "inet", t.name()}).out, before);
}

TEST(Installed, MissingTable) {
  REQUIRE_NFT();
  TableGuard t;
  auto fw = Firewall::open(t.name());
  ASSERT_OK(fw);
  auto inst = fw->installed();
  ASSERT_OK(inst);
  EXPECT_FALSE(inst->table);
  EXPECT_FALSE(inst->complete);
  EXPECT_TRUE(inst->bridges.empty());
}

TEST(Installed, IncompleteAfterAChainIsDeletedByHand) {
  REQUIRE_NFT();
  TableGuard t;
  auto fw = Firewall::open(t.name());
  ASSERT_OK(fw);
  Ruleset rs = test::sample_ruleset(tag());
  rs.forwards = test::sample_forwards();
  ASSERT_OK(fw->sync(rs));
  auto del = podns::test::run({"nft", "delete", "chain", "inet", t.name(), "forward"});
  ASSERT_EQ(del.exit_code, 0) << del.err;
  auto inst = fw->installed();
  ASSERT_OK(inst);
  EXPECT_TRUE(inst->table);
  EXPECT_FALSE(inst->complete);
  EXPECT_EQ(inst->forwards.size(), 4u);  // the maps are still read

  ASSERT_OK(fw->sync(rs));  // sync repairs
  inst = fw->installed();
  ASSERT_OK(inst);
  EXPECT_TRUE(inst->complete);
}

TEST(Installed, IncompleteWhenAMapHasAnotherType) {
  REQUIRE_NFT();
  TableGuard t;
  auto fw = Firewall::open(t.name());
  ASSERT_OK(fw);
  // A table of that name that is not podns's layout: a map of the right name but another key.
  std::string script = "table inet " + t.name() +
                       " {\n map fwd4_any {\n  type inet_service : ipv4_addr\n  elements = { 80 : 10.0.0.1 }\n }\n}\n";
  auto load = podns::test::run({"nft", "-f", "-"}, {}, script);
  ASSERT_EQ(load.exit_code, 0) << load.err;
  auto inst = fw->installed();
  ASSERT_OK(inst);
  EXPECT_TRUE(inst->table);
  EXPECT_FALSE(inst->complete);
  EXPECT_TRUE(inst->forwards.empty());  // not decoded with the wrong layout
  ASSERT_OK(fw->sync(test::sample_ruleset(tag())));  // replaced whole
  inst = fw->installed();
  ASSERT_OK(inst);
  EXPECT_TRUE(inst->complete);
}

TEST(Sync, FromAnotherNetnsIsRefused) {
  REQUIRE_NFT();
  TableGuard t;
  auto fw = Firewall::open(t.name());
  ASSERT_OK(fw);
  Status r;
  ASSERT_TRUE(test::in_private_netns([&] { r = fw->sync(test::sample_ruleset(tag())); }));
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().is(Errc::unsupported)) << r.error().message();
  EXPECT_FALSE(test::table_exists(t.name()));
}

}  // namespace
}  // namespace podns::fw
