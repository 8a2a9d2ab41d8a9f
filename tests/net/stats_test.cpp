// collect_stats, StatsCollector and live_interfaces: the joins and error paths on FakeClient, the
// client reuse and pin-identity check on the real kernel.
#include <net/if.h>
#include <sys/mount.h>

#include <filesystem>
#include <fstream>

#include "netns_fixture.hpp"
#include "fake_client.hpp"
#include "podns/net/interfaces.hpp"
#include "podns/net/stats.hpp"
#include "test_support.hpp"

namespace podns::net {
namespace {

using test::TempDir;
using test::TestNetns;

Link make_link(int index, std::string name, std::uint32_t flags, std::uint64_t rx_bytes) {
  Link l;
  l.index = index;
  l.name = std::move(name);
  l.flags = flags;
  l.kind = "veth";
  l.stats = LinkStats{.rx_bytes = rx_bytes, .rx_packets = rx_bytes / 100};
  return l;
}

Address make_addr(int index, int family, std::string ip, std::uint8_t prefix) {
  Address a;
  a.index = index;
  a.family = family;
  a.address = std::move(ip);
  a.prefix_len = prefix;
  return a;
}

TEST(CollectStats, SkipsLoopbackAndSortsByIndex) {
  FakeClient fake;
  fake.link_table = {make_link(3, "eth1", IFF_UP, 300), make_link(1, "lo", IFF_UP | IFF_LOOPBACK, 999),
                     make_link(2, "eth0", IFF_UP, 200)};
  auto stats = collect_stats(fake);
  ASSERT_OK(stats);
  ASSERT_EQ(stats->size(), 2u);
  EXPECT_EQ((*stats)[0].ifname, "eth0");
  EXPECT_EQ((*stats)[0].stats.rx_bytes, 200u);
  EXPECT_EQ((*stats)[0].stats.rx_packets, 2u);
  EXPECT_EQ((*stats)[1].ifname, "eth1");
  EXPECT_EQ(fake.calls(), std::vector<std::string>{"links"});
}

TEST(CollectStats, LinkWithoutStats64ReportsZeros) {
  FakeClient fake;
  Link l = make_link(2, "eth0", IFF_UP, 0);
  l.stats.reset();
  fake.link_table = {l};
  auto stats = collect_stats(fake);
  ASSERT_OK(stats);
  ASSERT_EQ(stats->size(), 1u);
  EXPECT_EQ((*stats)[0].stats, LinkStats{});
}

TEST(CollectStats, DumpFailureIsReportedWithContext) {
  FakeClient fake;
  fake.links_error = Error::from_errno(ENOBUFS, "dump links");
  auto stats = collect_stats(fake);
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().sys_errno(), ENOBUFS);
  EXPECT_EQ(stats.error().message(), "collect interface stats: dump links: No buffer space available");
}

// A StatsCollector over fakes: the opener hands out FakeClients and counts the opens.
struct FakeOpener {
  int opens = 0;
  std::vector<FakeClient*> made;
  std::optional<Error> fail_with;
  StatsCollector::Opener opener() {
    return [this](const std::string&) -> Result<std::unique_ptr<Client>> {
      ++opens;
      if (fail_with) return std::unexpected(*fail_with);
      auto c = std::make_unique<FakeClient>();
      c->link_table = {make_link(2, "eth0", IFF_UP, 100 * opens)};
      made.push_back(c.get());
      return c;
    };
  }
};

TEST(StatsCollector, OpensOneClientPerPinAndReusesIt) {
  TempDir dir("net");
  std::ofstream(dir / "pod-a") << "";
  std::ofstream(dir / "pod-b") << "";
  FakeOpener fo;
  StatsCollector collector(fo.opener());
  for (int round = 0; round < 3; ++round) {
    ASSERT_OK(collector.collect(dir / "pod-a"));
    ASSERT_OK(collector.collect(dir / "pod-b"));
  }
  EXPECT_EQ(fo.opens, 2);
  EXPECT_EQ(collector.open_clients(), 2u);
  EXPECT_EQ(fo.made[0]->calls().size(), 3u);
}

TEST(StatsCollector, ReopensWhenThePinNamesAnotherNamespace) {
  TempDir dir("net");
  std::ofstream(dir / "pod") << "";
  FakeOpener fo;
  StatsCollector collector(fo.opener());
  auto first = collector.collect(dir / "pod");
  ASSERT_OK(first);
  EXPECT_EQ((*first)[0].stats.rx_bytes, 100u);
  // Same path, new inode: what a pod removed and re-created under the same name looks like.
  std::filesystem::remove(dir / "pod");
  std::ofstream(dir / "other") << "";  // keep the old inode number from being reused at once
  std::ofstream(dir / "pod") << "";
  auto second = collector.collect(dir / "pod");
  ASSERT_OK(second);
  EXPECT_EQ(fo.opens, 2);
  EXPECT_EQ((*second)[0].stats.rx_bytes, 200u);
  EXPECT_EQ(collector.open_clients(), 1u);
}

TEST(StatsCollector, GonePinIsNotFoundAndClosesItsClient) {
  TempDir dir("net");
  std::ofstream(dir / "pod") << "";
  FakeOpener fo;
  StatsCollector collector(fo.opener());
  ASSERT_OK(collector.collect(dir / "pod"));
  std::filesystem::remove(dir / "pod");
  auto gone = collector.collect(dir / "pod");
  ASSERT_FALSE(gone);
  EXPECT_TRUE(gone.error().is(Errc::not_found)) << gone.error().message();
  EXPECT_EQ(collector.open_clients(), 0u);
}

TEST(StatsCollector, OpenFailureIsReturnedAndNothingIsCached) {
  TempDir dir("net");
  std::ofstream(dir / "pod") << "";
  FakeOpener fo;
  fo.fail_with = Error(Errc::not_a_namespace, dir / "pod");
  StatsCollector collector(fo.opener());
  auto r = collector.collect(dir / "pod");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::not_a_namespace));
  EXPECT_EQ(collector.open_clients(), 0u);
}

TEST(StatsCollector, QueryFailureNamesThePin) {
  TempDir dir("net");
  std::ofstream(dir / "pod") << "";
  FakeClient* fake = nullptr;
  StatsCollector collector([&](const std::string&) -> Result<std::unique_ptr<Client>> {
    auto c = std::make_unique<FakeClient>();
    c->links_error = Error::from_errno(EPERM, "dump links");
    fake = c.get();
    return c;
  });
  auto r = collector.collect(dir / "pod");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), dir / "pod" + ": collect interface stats: dump links: Operation not permitted");
  EXPECT_NE(fake, nullptr);
}

TEST(StatsCollector, RetainOnlyClosesClientsOfPodsThatWentAway) {
  TempDir dir("net");
  std::ofstream(dir / "a") << "";
  std::ofstream(dir / "b") << "";
  FakeOpener fo;
  StatsCollector collector(fo.opener());
  ASSERT_OK(collector.collect(dir / "a"));
  ASSERT_OK(collector.collect(dir / "b"));
  collector.retain_only({dir / "b"});
  EXPECT_EQ(collector.open_clients(), 1u);
  ASSERT_OK(collector.collect(dir / "b"));
  EXPECT_EQ(fo.opens, 2);
}

TEST(StatsCollector, RealNetnsRecreatedUnderTheSamePathIsReadAfresh) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("unshare", "util-linux");
  PODNS_REQUIRE_TOOL("nsenter", "util-linux");
  PODNS_REQUIRE_TOOL("ip", "iproute2");
  TempDir dir("net");
  StatsCollector collector;
  {
    TestNetns ns(dir / "pod");
    ASSERT_TRUE(ns.ok()) << ns.error();
    ASSERT_EQ(ns.ip({"link", "add", "eth0", "type", "veth", "peer", "name", "peer0"}), "");
    auto s = collector.collect(ns.path());
    ASSERT_OK(s);
    ASSERT_EQ(s->size(), 2u);
    // The kernel creates the peer first, so it has the lower index.
    EXPECT_EQ((*s)[0].ifname, "peer0");
    EXPECT_EQ((*s)[1].ifname, "eth0");
    EXPECT_EQ((*s)[1].kind, "veth");
  }
  TestNetns again(dir / "pod");
  ASSERT_TRUE(again.ok()) << again.error();
  auto s = collector.collect(again.path());
  ASSERT_OK(s);
  EXPECT_TRUE(s->empty()) << "read the old netns through a stale client";
  collector.retain_only({});
  EXPECT_EQ(collector.open_clients(), 0u);
}

TEST(CollectStats, ByPathAgainstTheRealKernel) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("unshare", "util-linux");
  PODNS_REQUIRE_TOOL("nsenter", "util-linux");
  PODNS_REQUIRE_TOOL("ip", "iproute2");
  TempDir dir("net");
  TestNetns ns(dir / "pod");
  ASSERT_TRUE(ns.ok()) << ns.error();
  ASSERT_EQ(ns.ip({"link", "add", "eth0", "type", "veth", "peer", "name", "eth1"}), "");
  ASSERT_EQ(ns.ip({"link", "set", "lo", "up"}), "");
  auto s = collect_stats(ns.path());
  ASSERT_OK(s);
  ASSERT_EQ(s->size(), 2u);  // lo skipped even when up
  EXPECT_LT((*s)[0].index, (*s)[1].index);
  EXPECT_EQ((*s)[0].ifname, "eth1");  // the veth peer is created first
  EXPECT_EQ((*s)[1].ifname, "eth0");
  auto bad = collect_stats(dir / "nothing");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().sys_errno(), ENOENT);
}

TEST(LiveInterfaces, JoinsAddressesToLinksIPv4First) {
  FakeClient fake;
  fake.link_table = {make_link(1, "lo", IFF_LOOPBACK, 0), make_link(2, "eth0", IFF_UP, 0)};
  fake.address_table = {make_addr(1, AF_INET, "127.0.0.1", 8), make_addr(2, AF_INET6, "fd00::5", 64),
                        make_addr(2, AF_INET, "10.88.0.5", 16),
                        make_addr(7, AF_INET, "10.1.1.1", 24)};  // a link that vanished between dumps
  auto ifs = live_interfaces(fake);
  ASSERT_OK(ifs);
  ASSERT_EQ(ifs->size(), 1u);
  const InterfaceState& eth0 = (*ifs)[0];
  EXPECT_EQ(eth0.link.name, "eth0");
  ASSERT_EQ(eth0.addresses.size(), 2u);
  EXPECT_EQ(eth0.addresses[0].cidr(), "10.88.0.5/16");
  EXPECT_EQ(eth0.addresses[1].cidr(), "fd00::5/64");
  auto with_lo = live_interfaces(fake, true);
  ASSERT_OK(with_lo);
  ASSERT_EQ(with_lo->size(), 2u);
  EXPECT_EQ((*with_lo)[0].addresses.at(0).cidr(), "127.0.0.1/8");
}

TEST(LiveInterfaces, AddressDumpFailureFailsTheWhole) {
  FakeClient fake;
  fake.link_table = {make_link(2, "eth0", IFF_UP, 0)};
  fake.addresses_error = Error::from_errno(EINTR, "dump addresses");
  auto ifs = live_interfaces(fake);
  ASSERT_FALSE(ifs);
  EXPECT_EQ(ifs.error().message(), "read interfaces: dump addresses: Interrupted system call");
  EXPECT_EQ(fake.calls(), (std::vector<std::string>{"links", "addresses 0"}));
}

TEST(LiveInterfaces, RealNetnsShowsMacAndAddresses) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("unshare", "util-linux");
  PODNS_REQUIRE_TOOL("nsenter", "util-linux");
  PODNS_REQUIRE_TOOL("ip", "iproute2");
  TempDir dir("net");
  TestNetns ns(dir / "pod");
  ASSERT_TRUE(ns.ok()) << ns.error();
  ASSERT_EQ(ns.ip({"link", "add", "eth0", "address", "02:42:0a:58:00:05", "type", "veth", "peer", "name", "p0"}), "");
  ASSERT_EQ(ns.ip({"addr", "add", "10.88.0.5/16", "dev", "eth0"}), "");
  auto ifs = live_interfaces(ns.path());
  ASSERT_OK(ifs);
  ASSERT_EQ(ifs->size(), 2u);
  const InterfaceState& peer = (*ifs)[0];  // created first by the kernel
  const InterfaceState& eth0 = (*ifs)[1];
  EXPECT_EQ(peer.link.name, "p0");
  EXPECT_TRUE(peer.addresses.empty());
  EXPECT_EQ(eth0.link.name, "eth0");
  EXPECT_EQ(eth0.link.mac, "02:42:0a:58:00:05");
  ASSERT_EQ(eth0.addresses.size(), 1u);
  EXPECT_EQ(eth0.addresses[0].cidr(), "10.88.0.5/16");
}

TEST(FakeClient, LinkLookupFollowsTheRealContract) {
  FakeClient fake;
  fake.link_table = {make_link(2, "eth0", IFF_UP, 0)};
  EXPECT_OK(fake.link("eth0"));
  auto missing = fake.link("eth1");
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().is(Errc::not_found));
  auto bad = fake.link("has/slash");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(Errc::invalid_name));
  fake.route_table = {Route{.family = AF_INET, .table = kTableMain}, Route{.family = AF_INET, .table = kTableLocal}};
  auto main_only = fake.routes(AF_INET);
  ASSERT_OK(main_only);
  EXPECT_EQ(main_only->size(), 1u);
  EXPECT_EQ(fake.calls(), (std::vector<std::string>{"link eth0", "link eth1", "link has/slash", "routes 2 254"}));
}

}  // namespace
}  // namespace podns::net
