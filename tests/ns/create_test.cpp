// create_pinned on the real kernel: every type but user, without moving the caller; rollback.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "ns_test_util.hpp"
#include "podns/pin.hpp"
#include "sys/pidfd.hpp"
#include "test_support.hpp"

namespace podns {
using test::TestPaths;

namespace {

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(dir, ec)) out.push_back(e.path().filename());
  return out;
}

// Every pin dir below `paths` is empty (or absent).
void expect_no_pins(const Paths& paths) {
  for (const auto& info : all_namespaces())
    EXPECT_TRUE(entries(pin_dir(paths, info.type)).empty()) << info.name;
}

}  // namespace

TEST(Create, NetnsPinWithoutMovingTheCaller) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  auto before = Namespace::open_current(NamespaceType::net);
  ASSERT_OK(before);
  auto pin = create_pinned(t.paths, NamespaceType::net, "web");
  ASSERT_OK(pin);
  EXPECT_EQ(pin->path, t.paths.netns_dir + "/web");
  EXPECT_EQ(pin->name, "web");
  auto after = Namespace::open_current(NamespaceType::net);
  ASSERT_OK(after);
  EXPECT_TRUE(*before == *after);
  auto pinned = Namespace::open_path(pin->path, NamespaceType::net);
  ASSERT_OK(pinned);
  EXPECT_FALSE(*pinned == *before);
  EXPECT_EQ(pinned->id(), pin->id);
  ASSERT_OK(remove_pinned(t.paths, "web"));
  expect_no_pins(t.paths);
}

// net, uts and cgroup are unshared on the calling thread itself and switched back (no thread
// hop): the thread is where it was, and the pins hold new namespaces.
TEST(Create, PerThreadTypesComeBackToTheCallingThread) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  std::vector<NamespaceType> types{NamespaceType::net, NamespaceType::uts, NamespaceType::cgroup};
  std::vector<Namespace> before;
  for (auto type : types) {
    auto ns = Namespace::open_path("/proc/thread-self/ns/" + std::string(namespace_info(type).pin_entry), type);
    ASSERT_OK(ns);
    before.push_back(std::move(*ns));
  }
  auto pins = create_pinned(t.paths, types, "here");
  ASSERT_OK(pins);
  for (size_t i = 0; i < types.size(); ++i) {
    auto now = Namespace::open_path("/proc/thread-self/ns/" + std::string(namespace_info(types[i]).pin_entry), types[i]);
    ASSERT_OK(now);
    EXPECT_TRUE(*now == before[i]) << to_string(types[i]) << ": the calling thread did not come back";
    auto pinned = Namespace::open_path((*pins)[i].path, types[i]);
    ASSERT_OK(pinned);
    EXPECT_FALSE(*pinned == before[i]) << to_string(types[i]) << ": not a new namespace";
  }
  ASSERT_OK(remove_pinned(t.paths, "here"));
  expect_no_pins(t.paths);
}

TEST(Create, EveryTypeButUserInOneCall) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  std::vector<NamespaceType> types{NamespaceType::net, NamespaceType::ipc,    NamespaceType::uts, NamespaceType::mnt,
                                   NamespaceType::pid, NamespaceType::cgroup, NamespaceType::time};
  auto pins = create_pinned(t.paths, types, "all");
  ASSERT_OK(pins);
  ASSERT_EQ(pins->size(), types.size());
  for (size_t i = 0; i < types.size(); ++i) {
    const auto& p = (*pins)[i];
    EXPECT_EQ(p.type, types[i]);
    EXPECT_EQ(p.path, pin_dir(t.paths, types[i]) + "/all");
    auto ns = Namespace::open_path(p.path, types[i]);
    ASSERT_OK(ns);
    auto ours = Namespace::open_current(types[i]);
    ASSERT_OK(ours);
    EXPECT_FALSE(*ns == *ours) << to_string(types[i]);
    // The caller's own namespaces did not change (pid/time: the ones for its children neither).
    auto ours_for_children = Namespace::open_path(
        "/proc/thread-self/ns/" + std::string(namespace_info(types[i]).pin_entry), types[i]);
    ASSERT_OK(ours_for_children);
    EXPECT_TRUE(*ours_for_children == *ours) << to_string(types[i]);
  }
  // The pid namespace is a child of ours.
  auto pidns = Namespace::open_path((*pins)[4].path);
  ASSERT_OK(pidns);
  auto parent = pidns->parent();
  ASSERT_OK(parent);
  auto our_pid = Namespace::open_current(NamespaceType::pid);
  ASSERT_OK(our_pid);
  EXPECT_TRUE(*parent == *our_pid);
  // Its init is podns's holder; rm takes it down.
  auto inside = pids_in(NamespaceType::pid, pidns->id());
  ASSERT_OK(inside);
  ASSERT_EQ(inside->size(), 1u);
  auto holder = sys::pidfd_open((*inside)[0]);
  ASSERT_OK(holder);
  ASSERT_OK(remove_pinned(t.paths, "all"));
  // Dead (a zombie until whoever inherited it reaps it).
  bool alive = true;
  for (int i = 0; i < 200 && alive; ++i) {
    auto a = sys::pidfd_is_alive(holder->view());
    ASSERT_OK(a);
    alive = *a;
    if (alive) ::usleep(5000);
  }
  EXPECT_FALSE(alive) << "holder still alive";
  expect_no_pins(t.paths);
}

TEST(Create, RandomCniStyleName) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  auto pin = create_pinned(t.paths, NamespaceType::net);
  ASSERT_OK(pin);
  EXPECT_TRUE(std::regex_match(pin->name, std::regex("cni-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")))
      << pin->name;
  ASSERT_OK(remove_pinned(t.paths, pin->name));
}

TEST(Create, UserNamespaceIsRefusedHere) {
  TestPaths t;
  std::vector<NamespaceType> types{NamespaceType::net, NamespaceType::user};
  auto r = create_pinned(t.paths, types, "u");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::unsupported));
  expect_no_pins(t.paths);
}

TEST(Create, BadNamesAreRejectedAndNothingIsCreated) {
  TestPaths t;
  for (std::string bad : {std::string("."), std::string(".."), std::string("a/b"), std::string(65, 'x'),
                          std::string("bad\x01"), std::string("-x"), std::string("../../etc/x")}) {
    auto r = create_pinned(t.paths, NamespaceType::net, bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_TRUE(r.error().is(Errc::invalid_name)) << bad;
  }
  expect_no_pins(t.paths);
}

TEST(Create, DuplicateTypeIsRejected) {
  TestPaths t;
  std::vector<NamespaceType> types{NamespaceType::net, NamespaceType::net};
  auto r = create_pinned(t.paths, types, "d");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::invalid_argument));
  auto none = create_pinned(t.paths, std::span<const NamespaceType>{}, "d");
  ASSERT_FALSE(none);
}

TEST(Create, ExistingNameFailsAndKeepsTheOriginal) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  auto first = create_pinned(t.paths, NamespaceType::net, "taken");
  ASSERT_OK(first);
  auto second = create_pinned(t.paths, NamespaceType::net, "taken");
  ASSERT_FALSE(second);
  EXPECT_TRUE(second.error().is(Errc::already_exists));
  auto still = Namespace::open_path(first->path);
  ASSERT_OK(still);
  EXPECT_EQ(still->id(), first->id);
  ASSERT_OK(remove_pinned(t.paths, "taken"));
}

TEST(Create, FailureHalfwayRollsBackEarlierPins) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  // A live uts pin "half" exists; creating net+uts "half" pins net first, then fails on uts.
  auto uts = create_pinned(t.paths, NamespaceType::uts, "half");
  ASSERT_OK(uts);
  std::vector<NamespaceType> types{NamespaceType::net, NamespaceType::uts};
  auto r = create_pinned(t.paths, types, "half");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::already_exists));
  EXPECT_TRUE(entries(t.paths.netns_dir).empty());
  auto kept = Namespace::open_path(uts->path);
  ASSERT_OK(kept);
  EXPECT_EQ(kept->id(), uts->id);
  ASSERT_OK(remove_pinned(t.paths, "half"));
}

TEST(Create, StaleLeftoverOfTheSameNameIsReplaced) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  ASSERT_OK(prepare_pin_dir(t.paths.netns_dir));
  std::ofstream(t.paths.netns_dir + "/crashed") << "";
  auto pin = create_pinned(t.paths, NamespaceType::net, "crashed");
  ASSERT_OK(pin);
  auto live = pin_is_live(pin->path);
  ASSERT_OK(live);
  EXPECT_TRUE(*live);
  ASSERT_OK(remove_pinned(t.paths, "crashed"));
}

TEST(Create, PinOutlivesEveryFdAndThread) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  auto pin = create_pinned(t.paths, NamespaceType::net, "lasting");
  ASSERT_OK(pin);
  // Nothing but the mount holds it now; it must still be the same namespace.
  auto ns = Namespace::open_path(pin->path, NamespaceType::net);
  ASSERT_OK(ns);
  EXPECT_EQ(ns->id(), pin->id);
  ASSERT_OK(remove_pinned(t.paths, "lasting"));
  auto gone = Namespace::open_path(pin->path);
  ASSERT_FALSE(gone);
  EXPECT_TRUE(gone.error().is(std::errc::no_such_file_or_directory));
}

}  // namespace podns
