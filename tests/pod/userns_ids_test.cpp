// reserve_auto_idmappings: the one `auto` allocator reads both places host ids are recorded (the
// pods in the state, the pinned user namespaces) under one lock held until the caller records its
// block, so no two user namespaces share host ids, whichever way they were made and however many
// processes ask at once.
#include <sys/wait.h>

#include <fstream>

#include <gtest/gtest.h>

#include "pod_fixture.hpp"
#include "podns/pin.hpp"
#include "podns/pod/userns_ids.hpp"
#include "podns/process.hpp"
#include "podns/userns.hpp"

namespace podns::pod {
namespace {

using podns::test::PodWorld;

#define REQUIRE_NATIVE()  \
  PODNS_REQUIRE_ROOT();   \
  PODNS_REQUIRE_TOOL("nft", "nftables")

constexpr uint32_t kBase = 3000000;

// Subordinate ranges of their own for root: `blocks` blocks of 65536 from kBase.
void give_root_blocks(PodWorld& w, uint32_t blocks) {
  for (const char* f : {"subuid", "subgid"}) std::ofstream(w.dir() / f) << "root:" << kBase << ":" << blocks * 65536 << "\n";
  w.env.subid_files = {w.dir() / "subuid", w.dir() / "subgid"};
}

// The set `name` pinned with a user namespace whose ids come from `auto` (`ns add --map auto`).
Status pin_auto_set(const PodEnv& env, const std::string& name) {
  auto pins = add_namespaces_with_auto_ids(env, {.paths = env.paths, .name = name, .types = {NamespaceType::user}});
  if (!pins) return fail(pins.error());
  return {};
}

// The uid map of the user namespace pinned as `name`, from the kernel.
IdMap pinned_uid_map(const PodEnv& env, const std::string& name) {
  auto ns = Namespace::open_path(pin_path(env.paths, NamespaceType::user, name), NamespaceType::user);
  EXPECT_TRUE(ns.has_value()) << name;
  if (!ns) return {};
  auto maps = read_userns_idmappings(*ns);
  EXPECT_TRUE(maps.has_value()) << name;
  return maps ? maps->uid : IdMap{};
}

TEST(AutoIds, APinnedSetAndAPodGetDifferentBlocksInEitherOrder) {
  REQUIRE_NATIVE();
  PodWorld w;
  give_root_blocks(w, 3);
  ASSERT_OK(pin_auto_set(w.env, "set1"));
  auto pod = create(w.env, {.name = "pod1", .userns = "auto"});
  ASSERT_OK(pod);
  ASSERT_OK(pin_auto_set(w.env, "set2"));
  EXPECT_EQ(pinned_uid_map(w.env, "set1"), (IdMap{{0, kBase, 65536}}));
  EXPECT_EQ(pinned_uid_map(w.env, "pod1"), (IdMap{{0, kBase + 65536, 65536}}));
  EXPECT_EQ(pinned_uid_map(w.env, "set2"), (IdMap{{0, kBase + 2 * 65536, 65536}}));
  // All three taken: the next one is told so.
  auto none = reserve_auto_idmappings(w.env);
  ASSERT_FALSE(none);
  EXPECT_TRUE(none.error().is(Errc::not_found)) << none.error().message();
  EXPECT_NE(none.error().message().find("no 65536 free subordinate ids left"), std::string::npos)
      << none.error().message();
  ASSERT_OK(remove(w.env, "pod1"));
  ASSERT_OK(remove_pinned(w.env.paths, "set1"));
  ASSERT_OK(remove_pinned(w.env.paths, "set2"));
}

// `ns add --map auto` keeps the setgroups it asks for, refuses maps of its own, and its
// reservation is gone once the set is pinned (the next allocator does not wait).
TEST(AutoIds, AddNamespacesWithAutoIdsKeepsSetgroupsAndReleasesTheLock) {
  REQUIRE_NATIVE();
  PodWorld w;
  give_root_blocks(w, 2);
  AddRequest req{.paths = w.env.paths, .name = "deny", .types = {NamespaceType::user, NamespaceType::net}};
  req.idmaps = IdMappings{.setgroups = SetGroups::deny};
  auto pins = add_namespaces_with_auto_ids(w.env, req);
  ASSERT_OK(pins);
  ASSERT_EQ(pins->size(), 2u);
  auto ns = Namespace::open_path(pin_path(w.env.paths, NamespaceType::user, "deny"), NamespaceType::user);
  ASSERT_OK(ns);
  auto maps = read_userns_idmappings(*ns);
  ASSERT_OK(maps);
  EXPECT_EQ(maps->uid, (IdMap{{0, kBase, 65536}}));
  EXPECT_EQ(maps->setgroups, SetGroups::deny);
  PodEnv impatient = w.env;
  impatient.lock_timeout = std::chrono::milliseconds(100);
  auto next = reserve_auto_idmappings(impatient);
  ASSERT_OK(next);
  EXPECT_EQ(next->maps().uid, (IdMap{{0, kBase + 65536, 65536}}));
  next->release();
  req.name = "own";
  req.idmaps = IdMappings{.uid = {{0, kBase, 10}}, .gid = {{0, kBase, 10}}};
  auto own = add_namespaces_with_auto_ids(w.env, req);
  ASSERT_FALSE(own);
  EXPECT_TRUE(own.error().is(Errc::invalid_argument)) << own.error().message();
  EXPECT_FALSE(pin_is_live(pin_path(w.env.paths, NamespaceType::user, "own")).value_or(true));
  ASSERT_OK(remove_pinned(w.env.paths, "deny"));
}

// A pod's row holds its ids from the commit on, before its user namespace is pinned (and after a
// crash that left it unpinned): an allocation in that window must not hand them out again.
TEST(AutoIds, ARecordedPodNotPinnedYetKeepsItsIds) {
  REQUIRE_NATIVE();
  PodWorld w;
  give_root_blocks(w, 2);
  {
    auto store = state::Store::open(w.env.paths.db_path());
    ASSERT_OK(store);
    nlohmann::json spec = {{"name", "half"},
                           {"idMappings",
                            {{"uidMappings", {{{"containerID", 0}, {"hostID", kBase}, {"size", 65536}}}},
                             {"gidMappings", {{{"containerID", 0}, {"hostID", kBase}, {"size", 65536}}}}}}};
    ASSERT_OK(store->insert_pod({"half", state::PodPhase::creating, spec.dump(), "", "", 0}, {}));
  }
  auto r = reserve_auto_idmappings(w.env);
  ASSERT_OK(r);
  EXPECT_EQ(r->maps().uid, (IdMap{{0, kBase + 65536, 65536}}));
  EXPECT_EQ(r->maps().gid, (IdMap{{0, kBase + 65536, 65536}}));
  r->release();
  auto store = state::Store::open(w.env.paths.db_path());
  ASSERT_OK(store);
  ASSERT_OK(store->delete_pod("half"));
}

// The lock is held until the reservation is dropped: a second allocator waits for it, and gives
// up with Errc::busy after its timeout.
TEST(AutoIds, AReservationHoldsTheLockUntilReleased) {
  REQUIRE_NATIVE();
  PodWorld w;
  give_root_blocks(w, 2);
  auto first = reserve_auto_idmappings(w.env);
  ASSERT_OK(first);
  PodEnv impatient = w.env;
  impatient.lock_timeout = std::chrono::milliseconds(100);
  auto waiting = reserve_auto_idmappings(impatient);
  ASSERT_FALSE(waiting);
  EXPECT_TRUE(waiting.error().is(Errc::busy)) << waiting.error().message();
  first->release();
  ASSERT_OK(reserve_auto_idmappings(impatient));
}

// Separate processes at once, pods and pinned sets mixed: every one gets a block, and no two
// blocks share a host id.
TEST(AutoIds, ConcurrentProcessesGetDisjointBlocks) {
  REQUIRE_NATIVE();
  PodWorld w;
  constexpr int kProcs = 6;
  give_root_blocks(w, kProcs);
  std::vector<std::string> names;
  std::vector<ChildProcess> children;
  for (int i = 0; i < kProcs; ++i) {
    bool is_pod = i % 3 == 0;
    names.push_back(fmt::format("{}{}", is_pod ? "pod" : "set", i));
    const PodEnv& env = w.env;
    const std::string& name = names.back();
    auto fn = [&env, name, is_pod]() -> int {
      if (is_pod) return create(env, {.name = name, .userns = "auto"}) ? 0 : 1;
      return pin_auto_set(env, name) ? 0 : 1;
    };
    auto child = clone_process(CloneOptions{}, fn);
    ASSERT_OK(child);
    children.push_back(std::move(*child));
  }
  for (auto& c : children) {
    auto code = c.wait();
    ASSERT_OK(code);
    EXPECT_EQ(*code, 0);
  }
  std::vector<IdMap> maps;
  for (const auto& n : names) maps.push_back(pinned_uid_map(w.env, n));
  for (int i = 0; i < kProcs; ++i) {
    ASSERT_EQ(maps[i].size(), 1u) << names[i];
    EXPECT_GE(maps[i][0].host_id, kBase) << names[i];
    EXPECT_LE(maps[i][0].host_id + maps[i][0].size, kBase + kProcs * 65536) << names[i];
    for (int j = i + 1; j < kProcs; ++j) {
      if (maps[j].size() != 1) continue;
      uint64_t a = maps[i][0].host_id, b = maps[j][0].host_id;
      EXPECT_TRUE(a + maps[i][0].size <= b || b + maps[j][0].size <= a)
          << names[i] << " and " << names[j] << " share host ids";
    }
  }
  for (const auto& n : names) {
    if (n.rfind("pod", 0) == 0) EXPECT_OK(remove(w.env, n));
    else EXPECT_OK(remove_pinned(w.env.paths, n));
  }
}

}  // namespace
}  // namespace podns::pod
