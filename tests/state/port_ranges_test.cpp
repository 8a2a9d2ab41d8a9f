// Port mappings with ranges (schema 3): host_port..host_port+range-1 published at once. Two
// mappings conflict when the protocol is the same, the host addresses are the same or either is
// "all addresses", and the host port ranges overlap.
#include <gtest/gtest.h>

#include <string>

#include "podns/state/store.hpp"
#include "test_support.hpp"

namespace podns::state {
namespace {

using podns::test::TempDir;

PortMapping ports(const std::string& ip, int host, int range, const std::string& proto = "tcp") {
  return PortMapping{"", ip, host, host, proto, range};
}
PodRecord pod(const std::string& name) { return PodRecord{name, PodPhase::creating, "{}", "", "", 0}; }

TEST(PortRanges, ConflictNeedsOverlappingRanges) {
  // Overlap at one end, the other end, inside, around.
  EXPECT_TRUE(ports_conflict(ports("", 8000, 10), ports("", 8009, 1)));
  EXPECT_TRUE(ports_conflict(ports("", 8009, 1), ports("", 8000, 10)));
  EXPECT_TRUE(ports_conflict(ports("", 8000, 10), ports("", 7990, 11)));
  EXPECT_TRUE(ports_conflict(ports("", 8000, 10), ports("", 8003, 2)));
  EXPECT_TRUE(ports_conflict(ports("", 8003, 2), ports("", 8000, 10)));
  EXPECT_TRUE(ports_conflict(ports("", 8000, 1), ports("", 8000, 1)));
  // Adjacent ranges do not.
  EXPECT_FALSE(ports_conflict(ports("", 8000, 10), ports("", 8010, 5)));
  EXPECT_FALSE(ports_conflict(ports("", 8010, 5), ports("", 8000, 10)));
  EXPECT_FALSE(ports_conflict(ports("", 7990, 10), ports("", 8000, 10)));
  // Other protocol, other specific address: no conflict; all addresses meets every address.
  EXPECT_FALSE(ports_conflict(ports("", 8000, 10), ports("", 8005, 1, "udp")));
  EXPECT_FALSE(ports_conflict(ports("127.0.0.1", 8000, 10), ports("127.0.0.2", 8005, 1)));
  EXPECT_TRUE(ports_conflict(ports("127.0.0.1", 8000, 10), ports("127.0.0.1", 8005, 1)));
  EXPECT_TRUE(ports_conflict(ports("", 8000, 10), ports("127.0.0.2", 8005, 1)));
  EXPECT_TRUE(ports_conflict(ports("::1", 8005, 1), ports("", 8000, 10)));
}

TEST(PortRanges, StoredAndReadBack) {
  TempDir dir;
  auto store = Store::open(dir / "podns.db");
  ASSERT_OK(store);
  PortMapping m{"", "", 8000, 9000, "udp", 100};
  ASSERT_OK(store->insert_pod(pod("web"), {m, ports("", 65530, 6)}));  // up to 65535 exactly
  auto st = store->load("web");
  ASSERT_OK(st);
  ASSERT_EQ(st->ports.size(), 2u);
  m.pod = "web";
  EXPECT_EQ(st->ports[0], m);
  EXPECT_EQ(st->ports[1].range, 6);
  auto all = store->all_ports();
  ASSERT_OK(all);
  EXPECT_EQ(all->at(0), m);
  auto listing = store->load_all_summaries();
  ASSERT_OK(listing);
  EXPECT_EQ(listing->at(0).ports.at(0), m);
}

TEST(PortRanges, InsertPodRejectsOverlapsWithOtherPods) {
  TempDir dir;
  auto store = Store::open(dir / "podns.db");
  ASSERT_OK(store);
  ASSERT_OK(store->insert_pod(pod("a"), {ports("", 8000, 10)}));
  ASSERT_OK(store->insert_pod(pod("b"), {ports("127.0.0.1", 9000, 100)}));

  auto overlapping = store->insert_pod(pod("c"), {ports("", 7995, 6)});
  ASSERT_FALSE(overlapping);
  EXPECT_TRUE(overlapping.error().is(Errc::already_exists));
  EXPECT_NE(overlapping.error().message().find("host port 7995-8000/tcp is already published by pod a (8000-8009/tcp)"),
            std::string::npos)
      << overlapping.error().message();
  EXPECT_TRUE(store->get_pod("c").error().is(Errc::not_found));

  // Adjacent on both sides, and the same ports on another protocol: fine.
  EXPECT_OK(store->insert_pod(pod("d"), {ports("", 7990, 10), ports("", 8010, 1)}));
  EXPECT_OK(store->insert_pod(pod("e"), {ports("", 8000, 10, "udp")}));

  // A specific address next to another specific one; all addresses over a specific one.
  EXPECT_OK(store->insert_pod(pod("f"), {ports("127.0.0.2", 9050, 1)}));
  auto any = store->insert_pod(pod("g"), {ports("", 9099, 5)});
  ASSERT_FALSE(any);
  EXPECT_NE(any.error().message().find("by pod b"), std::string::npos) << any.error().message();
  auto same_ip = store->insert_pod(pod("g"), {ports("127.0.0.1", 9050, 1)});
  ASSERT_FALSE(same_ip);
  EXPECT_NE(same_ip.error().message().find(
                "127.0.0.1:9050/tcp is already published by pod b (127.0.0.1:9000-9099/tcp)"),
            std::string::npos)
      << same_ip.error().message();

  // A single port far from the start of a wide range still meets it.
  ASSERT_OK(store->insert_pod(pod("wide"), {ports("", 20000, 5000)}));
  auto inside = store->insert_pod(pod("h"), {ports("", 24999, 1)});
  ASSERT_FALSE(inside);
  EXPECT_NE(inside.error().message().find("by pod wide"), std::string::npos) << inside.error().message();
  EXPECT_OK(store->insert_pod(pod("h"), {ports("", 25000, 1)}));
}

TEST(PortRanges, OverlapWithinOnePodAndBadRanges) {
  TempDir dir;
  auto store = Store::open(dir / "podns.db");
  ASSERT_OK(store);
  auto twice = store->insert_pod(pod("a"), {ports("", 8000, 10), ports("", 8005, 1)});
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message().find("published twice"), std::string::npos) << twice.error().message();
  for (auto bad : {ports("", 8000, 0), ports("", 65530, 7), PortMapping{"", "", 80, 65535, "tcp", 2}}) {
    auto r = store->insert_pod(pod("a"), {bad});
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(Errc::invalid_argument)) << r.error().message();
  }
  EXPECT_TRUE(store->get_pod("a").error().is(Errc::not_found));
}

}  // namespace
}  // namespace podns::state
