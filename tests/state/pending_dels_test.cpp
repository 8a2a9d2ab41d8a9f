// Schema 4: the CNI DELs still owed to dropped attachments. They outlive their pod, are written in
// the transaction that drops the attachment (a rollback takes both back), and count attempts.
#include <gtest/gtest.h>

#include "podns/state/store.hpp"
#include "test_support.hpp"

namespace podns::state {
namespace {

using podns::test::TempDir;

PendingDel owed(const std::string& pod, const std::string& network, const std::string& ifname = "eth0") {
  PendingDel p;
  p.pod = pod;
  p.network = network;
  p.container_id = "podns-" + pod;
  p.ifname = ifname;
  p.netns_path = "/run/netns/" + pod;
  p.netns_ino = 4026532999;
  p.config = R"({"cniVersion":"1.0.0","name":")" + network + R"(","plugins":[{"type":"bridge"}]})";
  p.runtime_config = R"({"portMappings":[]})";
  p.result = R"({"cniVersion":"1.0.0","interfaces":[{"name":"eth0"}]})";
  p.attempts = 1;
  p.last_error = "plugin bridge (DEL): no";
  p.created_at = 1700000000;
  p.last_attempt_at = 1700000000;
  return p;
}

AttachmentRecord attachment(const std::string& pod, const std::string& network) {
  return {pod, 0, network, "eth0", "podns-" + pod, "/run/netns/" + pod, "{}", "{}", "", RowState::intent};
}

TEST(PendingDels, RoundTripFailuresAndRemoval) {
  TempDir dir;
  auto store = Store::open(dir / "podns.db");
  ASSERT_OK(store);
  auto none = store->pending_dels();
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());

  ASSERT_OK(store->add_pending_del(owed("web", "n1")));
  ASSERT_OK(store->add_pending_del(owed("db", "n2", "eth1")));
  auto all = store->pending_dels();
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 2u);  // oldest first
  PendingDel want = owed("web", "n1");
  want.id = (*all)[0].id;
  EXPECT_EQ((*all)[0], want);
  EXPECT_EQ((*all)[1].ifname, "eth1");

  ASSERT_OK(store->note_pending_del_failure(want.id, "still no", 1700000100));
  auto one = store->pending_del(want.id);
  ASSERT_OK(one);
  EXPECT_EQ(one->attempts, 2);
  EXPECT_EQ(one->last_error, "still no");
  EXPECT_EQ(one->last_attempt_at, 1700000100);
  EXPECT_EQ(one->created_at, 1700000000);

  // A second record of the same attachment replaces the first; the attempts add up.
  PendingDel again = owed("web", "n1");
  again.netns_path = "/run/netns/web2";
  again.last_error = "newer";
  ASSERT_OK(store->add_pending_del(again));
  all = store->pending_dels();
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, want.id);
  EXPECT_EQ((*all)[0].netns_path, "/run/netns/web2");
  EXPECT_EQ((*all)[0].attempts, 3);
  EXPECT_EQ((*all)[0].last_error, "newer");

  // After a reboot no recorded netns identity means anything.
  ASSERT_OK(store->forget_pending_del_netns());
  all = store->pending_dels();
  ASSERT_OK(all);
  for (const auto& p : *all) EXPECT_EQ(p.netns_ino, 0u);

  ASSERT_OK(store->remove_pending_del(want.id));
  ASSERT_OK(store->remove_pending_del(want.id));  // idempotent
  EXPECT_TRUE(store->pending_del(want.id).error().is(Errc::not_found));
  all = store->pending_dels();
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].pod, "db");
}

TEST(PendingDels, WrittenWithTheAttachmentsDropAndOutliveThePod) {
  TempDir dir;
  auto store = Store::open(dir / "podns.db");
  ASSERT_OK(store);
  ASSERT_OK(store->insert_pod({"web", PodPhase::creating, "{}", "/run/netns/web", "", 0}, {}));
  ASSERT_OK(store->record_attachment_intent(attachment("web", "n1")));

  // A transaction that fails after both writes takes both back: the attachment row stays.
  auto failed = store->transaction([&]() -> Status {
    if (auto s = store->remove_attachment("web", 0); !s) return s;
    if (auto s = store->add_pending_del(owed("web", "n1")); !s) return s;
    return fail(Errc::busy, "simulated failure before the commit");
  });
  ASSERT_FALSE(failed);
  auto st = store->load("web");
  ASSERT_OK(st);
  EXPECT_EQ(st->attachments.size(), 1u);
  auto pending = store->pending_dels();
  ASSERT_OK(pending);
  EXPECT_TRUE(pending->empty());

  ASSERT_OK(store->transaction([&]() -> Status {
    if (auto s = store->remove_attachment("web", 0); !s) return s;
    return store->add_pending_del(owed("web", "n1"));
  }));
  // The pod goes (rolled back, or rm --force): the record stays, it owes a DEL to the plugins.
  ASSERT_OK(store->delete_pod("web"));
  pending = store->pending_dels();
  ASSERT_OK(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].container_id, "podns-web");
}

}  // namespace
}  // namespace podns::state
