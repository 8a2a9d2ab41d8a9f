// list_pins / find_pins / identify / pids_in.
#include <fstream>

#include "ns_test_util.hpp"
#include "podns/pin.hpp"
#include "test_support.hpp"

namespace podns {
using test::ParkedChild;
using test::TestPaths;

TEST(List, LiveAndStalePinsOfAllTypes) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  std::vector<NamespaceType> types{NamespaceType::net, NamespaceType::uts};
  auto pins = create_pinned(t.paths, types, "alpha");
  ASSERT_OK(pins);
  std::ofstream(t.paths.netns_dir + "/leftover") << "";
  auto list = list_pins(t.paths);
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].name, "alpha");
  EXPECT_EQ((*list)[0].type, NamespaceType::net);
  EXPECT_TRUE((*list)[0].live);
  EXPECT_EQ((*list)[0].id, (*pins)[0].id);
  EXPECT_EQ((*list)[1].name, "leftover");
  EXPECT_FALSE((*list)[1].live);
  EXPECT_EQ((*list)[2].type, NamespaceType::uts);
  EXPECT_TRUE((*list)[2].live);
  auto found = find_pins(t.paths, "alpha");
  ASSERT_OK(found);
  EXPECT_EQ(found->size(), 2u);
  ASSERT_OK(remove_pinned(t.paths, "alpha"));
  ASSERT_OK(remove_pinned(t.paths, "leftover"));
  auto empty = list_pins(t.paths);
  ASSERT_OK(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(List, IdentifyAndPids) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  ParkedChild child(CLONE_NEWNET);
  ASSERT_TRUE(child.ready());
  std::vector<NamespaceType> net{NamespaceType::net};
  auto pins = attach(t.paths, "child", child.pid(), net);
  ASSERT_OK(pins);
  auto other = create_pinned(t.paths, NamespaceType::net, "other");
  ASSERT_OK(other);

  auto found = identify(t.paths, child.pid());
  ASSERT_OK(found);
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].name, "child");
  auto mine = identify(t.paths, ::getpid());
  ASSERT_OK(mine);
  EXPECT_TRUE(mine->empty());

  auto pids = pids_in(NamespaceType::net, (*pins)[0].id);
  ASSERT_OK(pids);
  ASSERT_EQ(pids->size(), 1u);
  EXPECT_EQ((*pids)[0], child.pid());
  auto none = pids_in(NamespaceType::net, other->id);
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  child.kill();
  ASSERT_OK(remove_pinned(t.paths, "child"));
  ASSERT_OK(remove_pinned(t.paths, "other"));
}

TEST(List, IdentifyMissingPid) {
  TestPaths t;
  ParkedChild child;
  pid_t pid = child.pid();
  child.kill();
  auto r = identify(t.paths, pid);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::not_found));
}

}  // namespace podns
