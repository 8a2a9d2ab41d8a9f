// Every ADD eventually gets its DEL: a failed ADD whose rollback DEL failed too is kept as a
// pending DEL (its attachment row gone), which gc, the next mutating command and a create of the
// same attachment retry. Fake plugins (fake_cni_net.hpp): the real ones cannot fail DEL on demand.
#include <filesystem>

#include <gtest/gtest.h>

#include "fake_cni_net.hpp"
#include "pod_fixture.hpp"
#include "podns/pin.hpp"
#include "podns/pod/pod.hpp"

namespace podns::pod {
namespace {

using podns::test::FakeCniNet;
using podns::test::PodWorld;

#define REQUIRE_FAKE_CNI()  \
  PODNS_REQUIRE_ROOT();     \
  PODNS_REQUIRE_TOOL("/usr/bin/python3", "python3")

bool any_contains(const std::vector<std::string>& lines, const std::string& what) {
  for (const auto& l : lines)
    if (l.find(what) != std::string::npos) return true;
  return false;
}

// Pod `name` on fakenet fails at b's ADD; the rollback's DEL fails at a.
void create_fails_with_a_failed_rollback(PodWorld& w, const std::string& name) {
  auto r = create(w.env, {.name = name, .networks = {FakeCniNet::kName}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("fake ADD failure"), std::string::npos) << r.error().message();
}

// The key test of the issue: this DEL was lost before (the attachment's row went, nothing kept it).
TEST(PendingDel, EveryAddGetsItsDelEvenWhenTheRollbackDelFailed) {
  REQUIRE_FAKE_CNI();
  PodWorld w;
  FakeCniNet f(w);
  create_fails_with_a_failed_rollback(w, "lost");
  f.fix_del();
  size_t before = f.calls().size();
  auto g = gc(w.env);
  ASSERT_OK(g);
  auto dels = f.calls("DEL", container_id("lost"), before);
  ASSERT_EQ(dels.size(), 2u) << "gc never ran the DEL the failed rollback owed";
  EXPECT_EQ(dels[0]["type"], "b");  // the chain in reverse
  EXPECT_EQ(dels[1]["type"], "a");
  for (const auto& d : dels) EXPECT_EQ(d["env"]["CNI_IFNAME"], "eth0");
}

// The other path that lost a DEL: rm --force dropped the attachment (and its cache entry) after
// its DEL failed, and nothing ran it again.
TEST(PendingDel, AForcedRemoveStillGetsItsDel) {
  REQUIRE_FAKE_CNI();
  PodWorld w;
  FakeCniNet f(w);
  f.fix_add();
  ASSERT_OK(create(w.env, {.name = "forced", .networks = {FakeCniNet::kName}}));
  ASSERT_OK(remove(w.env, "forced", {.force = true}));
  EXPECT_TRUE(inspect(w.env, "forced").error().is(Errc::not_found));
  f.fix_del();
  size_t before = f.calls().size();
  ASSERT_OK(gc(w.env));
  auto dels = f.calls("DEL", container_id("forced"), before);
  ASSERT_EQ(dels.size(), 2u) << "gc never ran the DEL the forced rm owed";
  for (const auto& d : dels) {
    EXPECT_EQ(d["env"]["CNI_IFNAME"], "eth0");
    // The cached ADD result, kept in the pending DEL when the cache entry went.
    EXPECT_EQ(d["conf"]["prevResult"]["interfaces"][1]["name"], "b-eth0");
  }
}

TEST(PendingDel, KeptWithoutTheRowAndRunByGcOnceThePluginIsFixed) {
  REQUIRE_FAKE_CNI();
  PodWorld w;
  FakeCniNet f(w);
  create_fails_with_a_failed_rollback(w, "pd");
  EXPECT_TRUE(any_contains(w.warnings, "kept as a pending DEL")) << ::testing::PrintToString(w.warnings);

  // The pod and its attachment row are gone; the DEL it owes is not.
  EXPECT_TRUE(inspect(w.env, "pd").error().is(Errc::not_found));
  auto pins = find_pins(w.env.paths, "pd");
  ASSERT_OK(pins);
  EXPECT_TRUE(pins->empty());
  auto pending = pending_dels(w.env);
  ASSERT_OK(pending);
  ASSERT_EQ(pending->size(), 1u);
  const auto& p = pending->front();
  EXPECT_EQ(p.pod, "pd");
  EXPECT_EQ(p.network, FakeCniNet::kName);
  EXPECT_EQ(p.container_id, container_id("pd"));
  EXPECT_EQ(p.ifname, "eth0");
  EXPECT_EQ(p.attempts, 1);
  EXPECT_NE(p.last_error.find("fake DEL failure"), std::string::npos) << p.last_error;
  EXPECT_NE(p.netns_ino, 0u);  // the netns was still pinned when the DEL failed
  EXPECT_NE(p.result.find("a-eth0"), std::string::npos) << p.result;  // what a's ADD reported

  // Still broken: gc keeps it, one attempt more, and says so.
  auto g = gc(w.env);
  ASSERT_OK(g);
  EXPECT_EQ(g->pending_dels_done, 0);
  EXPECT_EQ(g->pending_dels_left, 1);
  ASSERT_EQ(g->errors.size(), 1u);
  EXPECT_NE(g->errors[0].message().find("pending CNI DEL of podns-pd"), std::string::npos) << g->errors[0].message();
  pending = pending_dels(w.env);
  ASSERT_OK(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ(pending->front().attempts, 2);

  // Fixed: gc runs it with the right attachment and the result a had reported, and drops it.
  f.fix_del();
  size_t before = f.calls().size();
  g = gc(w.env);
  ASSERT_OK(g);
  EXPECT_EQ(g->pending_dels_done, 1);
  EXPECT_EQ(g->pending_dels_left, 0);
  EXPECT_TRUE(g->errors.empty()) << g->errors.front().message();
  EXPECT_TRUE(any_contains(g->cleaned, "pending CNI DEL of podns-pd on network fakenet (eth0, pod pd): done"))
      << ::testing::PrintToString(g->cleaned);
  auto dels = f.calls("DEL", container_id("pd"), before);
  ASSERT_EQ(dels.size(), 2u);
  for (const auto& d : dels) {
    EXPECT_EQ(d["env"]["CNI_IFNAME"], "eth0");
    // The pod's netns was unpinned by the rollback: the DEL goes without one, as CNI allows.
    EXPECT_EQ(d["env"]["CNI_NETNS"], "");
    EXPECT_EQ(d["conf"]["prevResult"]["interfaces"][0]["name"], "a-eth0");
  }
  pending = pending_dels(w.env);
  ASSERT_OK(pending);
  EXPECT_TRUE(pending->empty());
  // Nothing left to do.
  g = gc(w.env);
  ASSERT_OK(g);
  EXPECT_EQ(g->pending_dels_done + g->pending_dels_left, 0);
}

TEST(PendingDel, TheNextCreateRetriesItOnceTheIntervalHasPassed) {
  REQUIRE_FAKE_CNI();
  PodWorld w;
  FakeCniNet f(w);
  create_fails_with_a_failed_rollback(w, "pd");
  f.fix_add();
  f.fix_del();
  // Tried a moment ago: a create now leaves it alone (a broken plugin must not slow every create).
  size_t before = f.calls().size();
  ASSERT_OK(create(w.env, {.name = "second", .networks = {FakeCniNet::kName}}));
  EXPECT_TRUE(f.calls("DEL", container_id("pd"), before).empty());
  auto pending = pending_dels(w.env);
  ASSERT_OK(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ(pending->front().attempts, 1);
  // Due: the next create runs it, and goes on with its own pod.
  w.env.pending_del_retry_interval = std::chrono::seconds(0);
  ASSERT_OK(create(w.env, {.name = "third", .networks = {FakeCniNet::kName}}));
  auto dels = f.calls("DEL", container_id("pd"), before);
  ASSERT_EQ(dels.size(), 2u);
  EXPECT_EQ(dels[1]["env"]["CNI_IFNAME"], "eth0");
  pending = pending_dels(w.env);
  ASSERT_OK(pending);
  EXPECT_TRUE(pending->empty());
  // The retry took pd's lock for a pod that does not exist: no lock file is left for gc to puzzle over.
  EXPECT_FALSE(std::filesystem::exists(w.env.paths.locks_dir() + "/pod-pd.lock"));
  ASSERT_OK(remove(w.env, "second"));
  ASSERT_OK(remove(w.env, "third"));
}

TEST(PendingDel, AFailingRetryNeverFailsTheCommand) {
  REQUIRE_FAKE_CNI();
  PodWorld w;
  FakeCniNet f(w);
  create_fails_with_a_failed_rollback(w, "pd");
  f.fix_add();  // DEL still broken
  w.env.pending_del_retry_interval = std::chrono::seconds(0);
  w.warnings.clear();
  ASSERT_OK(create(w.env, {.name = "other", .networks = {FakeCniNet::kName}}));
  EXPECT_TRUE(any_contains(w.warnings, "pending CNI DEL of podns-pd")) << ::testing::PrintToString(w.warnings);
  // other's own DEL fails too: forced, it joins the pending ones.
  ASSERT_OK(remove(w.env, "other", {.force = true}));
  auto pending = pending_dels(w.env);
  ASSERT_OK(pending);
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ(pending->at(0).container_id, container_id("pd"));
  EXPECT_EQ(pending->at(0).attempts, 3);  // the rollback, create other, rm other
  EXPECT_EQ(pending->at(1).container_id, container_id("other"));
  EXPECT_EQ(pending->at(1).attempts, 1);
  EXPECT_NE(pending->at(1).result.find("b-eth0"), std::string::npos);  // the cached ADD result
}

TEST(PendingDel, ACreateOfTheSameAttachmentRunsItsDelFirst) {
  REQUIRE_FAKE_CNI();
  PodWorld w;
  FakeCniNet f(w);
  create_fails_with_a_failed_rollback(w, "pd");
  f.fix_add();
  // DEL still broken: no second ADD of podns-pd/eth0 without a DEL in between (CNI).
  size_t before = f.calls().size();
  auto r = create(w.env, {.name = "pd", .networks = {FakeCniNet::kName}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("still owes this attachment its DEL"), std::string::npos) << r.error().message();
  EXPECT_TRUE(f.calls("ADD", container_id("pd"), before).empty());
  EXPECT_TRUE(inspect(w.env, "pd").error().is(Errc::not_found));

  f.fix_del();
  before = f.calls().size();
  auto info = create(w.env, {.name = "pd", .networks = {FakeCniNet::kName}});
  ASSERT_OK(info);
  auto calls = f.calls();
  std::vector<std::string> seq;
  for (size_t i = before; i < calls.size(); ++i)
    seq.push_back(calls[i]["command"].get<std::string>() + " " + calls[i]["type"].get<std::string>());
  EXPECT_EQ(seq, (std::vector<std::string>{"DEL b", "DEL a", "ADD a", "ADD b"}));
  auto pending = pending_dels(w.env);
  ASSERT_OK(pending);
  EXPECT_TRUE(pending->empty());
  ASSERT_OK(remove(w.env, "pd"));
}

}  // namespace
}  // namespace podns::pod
