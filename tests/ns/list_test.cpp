// list_pins / find_pins / find_pin / describe_namespace by name / identify / pids_in.
#include <fstream>

#include "ns_test_util.hpp"
#include "podns/ns_info.hpp"
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

// A name stands for one pin: of the type asked for, else its netns, else its only pin; several
// pins of other types are a clear error that asks for a type, and a stale file is no pin.
TEST(List, FindPinPicksTheNetnsTheOnlyPinOrAsksForAType) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  ASSERT_OK(create_pinned(t.paths, std::vector{NamespaceType::net, NamespaceType::uts}, "both"));
  ASSERT_OK(create_pinned(t.paths, std::vector{NamespaceType::ipc}, "lone"));
  ASSERT_OK(create_pinned(t.paths, std::vector{NamespaceType::ipc, NamespaceType::uts}, "pair"));
  std::ofstream(t.paths.netns_dir + "/stale") << "";

  auto net = find_pin(t.paths, "both");
  ASSERT_OK(net);
  EXPECT_EQ(net->type, NamespaceType::net);
  auto uts = find_pin(t.paths, "both", NamespaceType::uts);
  ASSERT_OK(uts);
  EXPECT_EQ(uts->type, NamespaceType::uts);
  auto lone = find_pin(t.paths, "lone");
  ASSERT_OK(lone);
  EXPECT_EQ(lone->type, NamespaceType::ipc);
  auto pair = find_pin(t.paths, "pair");
  ASSERT_FALSE(pair);
  EXPECT_TRUE(pair.error().is(Errc::invalid_argument)) << pair.error().message();
  EXPECT_NE(pair.error().message().find("uts, ipc"), std::string::npos) << pair.error().message();
  auto no_type = find_pin(t.paths, "lone", NamespaceType::net);
  ASSERT_FALSE(no_type);
  EXPECT_TRUE(no_type.error().is(Errc::not_found)) << no_type.error().message();
  EXPECT_TRUE(find_pin(t.paths, "stale").error().is(Errc::not_found));
  EXPECT_TRUE(find_pin(t.paths, "../etc").error().is(Errc::invalid_name));

  // describe_namespace by name resolves the same way; a path must be of the type asked for.
  auto d = describe_namespace(t.paths, "both", NamespaceType::uts);
  ASSERT_OK(d);
  EXPECT_EQ(d->id, uts->id);
  EXPECT_EQ(d->path, uts->path);
  auto wrong = describe_namespace(t.paths, net->path, NamespaceType::uts);
  ASSERT_FALSE(wrong);
  EXPECT_TRUE(wrong.error().is(Errc::wrong_namespace_type)) << wrong.error().message();
  EXPECT_TRUE(describe_namespace(t.paths, "pair").error().is(Errc::invalid_argument));

  for (const char* name : {"both", "lone", "pair", "stale"}) ASSERT_OK(remove_pinned(t.paths, name));
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
