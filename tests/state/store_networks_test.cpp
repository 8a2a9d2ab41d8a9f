// Schema 3 rows: native networks, IP leases (unique per network and address, going with their
// attachment), IPAM cursors and metadata; the attachment's driver and host interface.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "podns/state/store.hpp"
#include "test_support.hpp"

namespace podns::state {
namespace {

using podns::test::TempDir;

NetworkRecord net(const std::string& name, const std::string& bridge) {
  return NetworkRecord{name, "bridge", bridge, R"({"subnets":[{"subnet":"10.90.0.0/24"}]})", 0};
}

AttachmentRecord native(const std::string& pod, int index, const std::string& network) {
  AttachmentRecord a{pod, index, network, "eth" + std::to_string(index), "", "/run/netns/" + pod, "", "", "",
                     RowState::intent};
  a.driver = AttachmentDriver::native;
  a.host_ifname = "vp" + pod + std::to_string(index);
  return a;
}

// A pod with a native attachment (pod, 0) on `network`: what a lease needs to exist.
void attached_pod(Store& s, const std::string& pod, const std::string& network) {
  ASSERT_OK(s.insert_pod({pod, PodPhase::creating, "{}", "", "", 0}, {}));
  ASSERT_OK(s.record_attachment_intent(native(pod, 0, network)));
}

class StoreNetworks : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Store::open(dir_ / "podns.db");
    ASSERT_OK(s);
    store_.emplace(std::move(*s));
  }
  Store& store() { return *store_; }
  std::string path() const { return dir_ / "podns.db"; }

  TempDir dir_;
  std::optional<Store> store_;
};

TEST_F(StoreNetworks, InsertGetListDelete) {
  ASSERT_OK(store().insert_network(net("web", "podns1")));
  ASSERT_OK(store().insert_network({"back", "bridge", "podns2", "{}", 1700000000}));
  auto got = store().get_network("web");
  ASSERT_OK(got);
  EXPECT_EQ(got->bridge, "podns1");
  EXPECT_EQ(got->options, net("web", "podns1").options);
  EXPECT_GT(got->created_at, 0);  // filled in when left 0
  auto all = store().list_networks();
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0], (NetworkRecord{"back", "bridge", "podns2", "{}", 1700000000}));
  EXPECT_EQ((*all)[1].name, "web");

  ASSERT_OK(store().delete_network("web"));
  EXPECT_TRUE(store().get_network("web").error().is(Errc::not_found));
  EXPECT_OK(store().delete_network("web"));  // missing: fine
  EXPECT_OK(store().delete_network("never"));
  // Its bridge name is free again.
  EXPECT_OK(store().insert_network(net("web2", "podns1")));
}

TEST_F(StoreNetworks, NameAndBridgeAreUnique) {
  ASSERT_OK(store().insert_network(net("web", "podns1")));
  auto dup = store().insert_network({"web", "bridge", "podns9", "{}", 0});
  ASSERT_FALSE(dup);
  EXPECT_TRUE(dup.error().is(Errc::already_exists)) << dup.error().message();
  auto bridge = store().insert_network(net("other", "podns1"));
  ASSERT_FALSE(bridge);
  EXPECT_TRUE(bridge.error().is(Errc::already_exists));
  EXPECT_NE(bridge.error().message().find("bridge podns1 belongs to network web"), std::string::npos)
      << bridge.error().message();
  // The first one is untouched, the second never recorded.
  EXPECT_EQ(store().get_network("web")->bridge, "podns1");
  EXPECT_TRUE(store().get_network("other").error().is(Errc::not_found));
}

TEST_F(StoreNetworks, AttachmentKeepsItsDriverAndHostInterface) {
  ASSERT_OK(store().insert_network(net("n", "podns1")));
  attached_pod(store(), "web", "n");
  ASSERT_OK(store().record_attachment_intent(
      {"web", 1, "podns", "eth1", "podns-web", "/run/netns/web", "{}", "{}", "", RowState::intent}));
  auto check = [](const PodState& ps) {
    ASSERT_EQ(ps.attachments.size(), 2u);
    EXPECT_EQ(ps.attachments[0].driver, AttachmentDriver::native);
    EXPECT_EQ(ps.attachments[0].host_ifname, "vpweb0");
    EXPECT_EQ(ps.attachments[1].driver, AttachmentDriver::cni);  // the default
    EXPECT_EQ(ps.attachments[1].host_ifname, "");
  };
  auto one = store().load("web");
  ASSERT_OK(one);
  check(*one);
  auto all = store().load_all();
  ASSERT_OK(all);
  check(all->at(0));
  auto listing = store().load_all_summaries();
  ASSERT_OK(listing);
  check(listing->at(0));
  EXPECT_EQ(to_string(AttachmentDriver::native), "native");
  EXPECT_EQ(to_string(AttachmentDriver::cni), "cni");
}

TEST_F(StoreNetworks, LeaseRoundTrip) {
  ASSERT_OK(store().insert_network(net("n", "podns1")));
  ASSERT_OK(store().insert_network(net("m", "podns2")));
  attached_pod(store(), "web", "n");
  ASSERT_OK(store().record_attachment_intent(native("web", 1, "m")));
  ASSERT_OK(store().insert_lease({"n", "10.90.0.2", "web", 0}));
  ASSERT_OK(store().insert_lease({"n", "fd00::2", "web", 0}));
  ASSERT_OK(store().insert_lease({"m", "10.90.0.2", "web", 1}));  // the same address on another network

  auto held = store().lease_of("n", "10.90.0.2");
  ASSERT_OK(held);
  ASSERT_TRUE(held->has_value());
  EXPECT_EQ(**held, (Lease{"n", "10.90.0.2", "web", 0}));
  auto free = store().lease_of("n", "10.90.0.3");
  ASSERT_OK(free);
  EXPECT_FALSE(free->has_value());

  auto of_n = store().leases("n");
  ASSERT_OK(of_n);
  EXPECT_EQ(*of_n, (std::vector<Lease>{{"n", "10.90.0.2", "web", 0}, {"n", "fd00::2", "web", 0}}));
  auto all = store().all_leases();
  ASSERT_OK(all);
  EXPECT_EQ(all->size(), 3u);
  EXPECT_EQ(all->front().network, "m");

  auto mine = store().attachment_leases("web", 0);
  ASSERT_OK(mine);
  EXPECT_EQ(*mine, (std::vector<Lease>{{"n", "10.90.0.2", "web", 0}, {"n", "fd00::2", "web", 0}}));
  mine = store().attachment_leases("web", 1);
  ASSERT_OK(mine);
  EXPECT_EQ(*mine, (std::vector<Lease>{{"m", "10.90.0.2", "web", 1}}));

  ASSERT_OK(store().release_leases("web", 0));
  EXPECT_TRUE(store().attachment_leases("web", 0)->empty());
  of_n = store().leases("n");
  ASSERT_OK(of_n);
  EXPECT_TRUE(of_n->empty());
  EXPECT_OK(store().release_leases("web", 0));  // nothing left: fine
  EXPECT_EQ(store().all_leases()->size(), 1u);
}

TEST_F(StoreNetworks, LeaseNeedsItsNetworkAndAttachment) {
  ASSERT_OK(store().insert_network(net("n", "podns1")));
  attached_pod(store(), "web", "n");
  auto no_attachment = store().insert_lease({"n", "10.90.0.2", "web", 7});
  ASSERT_FALSE(no_attachment);
  EXPECT_TRUE(no_attachment.error().is(Errc::not_found)) << no_attachment.error().message();
  EXPECT_NE(no_attachment.error().message().find("no attachment 7 of pod web"), std::string::npos);
  auto no_network = store().insert_lease({"ghost", "10.90.0.2", "web", 0});
  ASSERT_FALSE(no_network);
  EXPECT_TRUE(no_network.error().is(Errc::not_found)) << no_network.error().message();
  EXPECT_NE(no_network.error().message().find("no network ghost"), std::string::npos);
  EXPECT_TRUE(store().all_leases()->empty());
}

TEST_F(StoreNetworks, AnAddressIsLeasedOnceEvenAcrossHandles) {
  ASSERT_OK(store().insert_network(net("n", "podns1")));
  attached_pod(store(), "web", "n");
  attached_pod(store(), "db", "n");
  ASSERT_OK(store().insert_lease({"n", "10.90.0.2", "web", 0}));
  auto again = store().insert_lease({"n", "10.90.0.2", "db", 0});
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().is(Errc::already_exists));
  EXPECT_NE(again.error().message().find("pod web (attachment 0) holds it"), std::string::npos)
      << again.error().message();

  // A second process's handle on the same file hits the same constraint.
  auto other = Store::open(path());
  ASSERT_OK(other);
  auto theirs = other->insert_lease({"n", "10.90.0.2", "db", 0});
  ASSERT_FALSE(theirs);
  EXPECT_TRUE(theirs.error().is(Errc::already_exists)) << theirs.error().message();
  EXPECT_OK(other->insert_lease({"n", "10.90.0.3", "db", 0}));
  auto seen = store().lease_of("n", "10.90.0.3");
  ASSERT_OK(seen);
  ASSERT_TRUE(seen->has_value());
  EXPECT_EQ((*seen)->pod, "db");
}

TEST_F(StoreNetworks, LeasesGoWithTheirAttachmentAndPod) {
  ASSERT_OK(store().insert_network(net("n", "podns1")));
  attached_pod(store(), "web", "n");
  ASSERT_OK(store().record_attachment_intent(native("web", 1, "n")));
  attached_pod(store(), "db", "n");
  ASSERT_OK(store().insert_lease({"n", "10.90.0.2", "web", 0}));
  ASSERT_OK(store().insert_lease({"n", "10.90.0.3", "web", 1}));
  ASSERT_OK(store().insert_lease({"n", "10.90.0.4", "db", 0}));

  ASSERT_OK(store().remove_attachment("web", 1));
  auto left = store().leases("n");
  ASSERT_OK(left);
  EXPECT_EQ(*left, (std::vector<Lease>{{"n", "10.90.0.2", "web", 0}, {"n", "10.90.0.4", "db", 0}}));

  ASSERT_OK(store().delete_pod("web"));
  left = store().leases("n");
  ASSERT_OK(left);
  EXPECT_EQ(*left, (std::vector<Lease>{{"n", "10.90.0.4", "db", 0}}));
  // The freed addresses can be leased again.
  EXPECT_OK(store().insert_lease({"n", "10.90.0.2", "db", 0}));
}

TEST_F(StoreNetworks, ANetworkInUseCannotBeDeleted) {
  ASSERT_OK(store().insert_network(net("n", "podns1")));
  attached_pod(store(), "web", "n");
  ASSERT_OK(store().insert_lease({"n", "10.90.0.2", "web", 0}));
  auto leased = store().delete_network("n");
  ASSERT_FALSE(leased);
  EXPECT_TRUE(leased.error().is(Errc::busy)) << leased.error().message();
  EXPECT_NE(leased.error().message().find("pod web"), std::string::npos) << leased.error().message();
  EXPECT_OK(store().get_network("n"));

  // Without a lease, a native attachment (an intent before its allocation) still holds it.
  ASSERT_OK(store().release_leases("web", 0));
  auto attached = store().delete_network("n");
  ASSERT_FALSE(attached);
  EXPECT_TRUE(attached.error().is(Errc::busy)) << attached.error().message();
  EXPECT_NE(attached.error().message().find("pod web is attached"), std::string::npos);

  // A CNI attachment that happens to use the same network name does not.
  ASSERT_OK(store().remove_attachment("web", 0));
  ASSERT_OK(store().record_attachment_intent({"web", 0, "n", "eth0", "c", "/x", "{}", "{}", "", RowState::intent}));
  EXPECT_OK(store().delete_network("n"));
}

TEST_F(StoreNetworks, CursorsPerRangeGoWithTheirNetwork) {
  ASSERT_OK(store().insert_network(net("n", "podns1")));
  auto none = store().ipam_cursor("n", "10.90.0.0/24");
  ASSERT_OK(none);
  EXPECT_EQ(*none, "");
  ASSERT_OK(store().set_ipam_cursor("n", "10.90.0.0/24", "10.90.0.2"));
  ASSERT_OK(store().set_ipam_cursor("n", "fd00::/64", "fd00::9"));
  ASSERT_OK(store().set_ipam_cursor("n", "10.90.0.0/24", "10.90.0.3"));
  EXPECT_EQ(*store().ipam_cursor("n", "10.90.0.0/24"), "10.90.0.3");
  EXPECT_EQ(*store().ipam_cursor("n", "fd00::/64"), "fd00::9");
  EXPECT_EQ(*store().ipam_cursor("other", "10.90.0.0/24"), "");

  auto ghost = store().set_ipam_cursor("ghost", "10.90.0.0/24", "10.90.0.2");
  ASSERT_FALSE(ghost);
  EXPECT_TRUE(ghost.error().is(Errc::not_found)) << ghost.error().message();

  // A network created again under the same name starts from the beginning.
  ASSERT_OK(store().delete_network("n"));
  ASSERT_OK(store().insert_network(net("n", "podns1")));
  EXPECT_EQ(*store().ipam_cursor("n", "10.90.0.0/24"), "");
}

TEST_F(StoreNetworks, MetaIsKeyValueAndPersists) {
  auto missing = store().meta("boot_id");
  ASSERT_OK(missing);
  EXPECT_FALSE(missing->has_value());
  ASSERT_OK(store().set_meta("boot_id", "a"));
  ASSERT_OK(store().set_meta("boot_id", "b"));
  ASSERT_OK(store().set_meta("empty", ""));
  store_.reset();
  auto again = Store::open(path());
  ASSERT_OK(again);
  auto v = again->meta("boot_id");
  ASSERT_OK(v);
  EXPECT_EQ(*v, std::optional<std::string>("b"));
  EXPECT_EQ(*again->meta("empty"), std::optional<std::string>(""));
}

TEST_F(StoreNetworks, ALeaseInAFailedTransactionIsNotKept) {
  ASSERT_OK(store().insert_network(net("n", "podns1")));
  auto r = store().transaction([&]() -> Status {
    if (auto s = store().insert_pod({"web", PodPhase::creating, "{}", "", "", 0}, {}); !s) return s;
    if (auto s = store().record_attachment_intent(native("web", 0, "n")); !s) return s;
    if (auto s = store().insert_lease({"n", "10.90.0.2", "web", 0}); !s) return s;
    if (auto s = store().set_ipam_cursor("n", "10.90.0.0/24", "10.90.0.2"); !s) return s;
    return fail(Errc::plugin_failed, "the veth could not be made");
  });
  ASSERT_FALSE(r);
  EXPECT_TRUE(store().all_leases()->empty());
  EXPECT_EQ(*store().ipam_cursor("n", "10.90.0.0/24"), "");
  EXPECT_TRUE(store().get_pod("web").error().is(Errc::not_found));
}

}  // namespace
}  // namespace podns::state
