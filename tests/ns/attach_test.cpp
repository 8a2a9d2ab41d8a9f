// attach(): pin a running process's namespaces race-free through its pidfd.
#include <sys/stat.h>

#include <filesystem>

#include "ns/pin_internal.hpp"
#include "ns_test_util.hpp"
#include "podns/pin.hpp"
#include "test_support.hpp"

namespace podns {
using test::ParkedChild;
using test::TestPaths;

namespace {
bool dir_empty(const std::string& dir) {
  std::error_code ec;
  return std::filesystem::directory_iterator(dir, ec) == std::filesystem::directory_iterator();
}
}  // namespace

TEST(Attach, PinsTheNamespacesOfAProcess) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  ParkedChild child(CLONE_NEWNET | CLONE_NEWUTS);
  ASSERT_TRUE(child.ready());
  std::vector<NamespaceType> types{NamespaceType::net, NamespaceType::uts};
  auto pins = attach(t.paths, "box", child.pid(), types);
  ASSERT_OK(pins);
  ASSERT_EQ(pins->size(), 2u);
  for (const auto& p : *pins) {
    auto theirs = Namespace::open_pid(child.pid(), p.type);
    ASSERT_OK(theirs);
    EXPECT_EQ(theirs->id(), p.id);
  }
  // The pin keeps the namespace after the process is gone.
  NamespaceId net_id = (*pins)[0].id;
  child.kill();
  auto held = Namespace::open_path((*pins)[0].path, NamespaceType::net);
  ASSERT_OK(held);
  EXPECT_EQ(held->id(), net_id);
  ASSERT_OK(remove_pinned(t.paths, "box"));
}

TEST(Attach, MissingPidFailsAndLeavesNothing) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  ParkedChild child;
  pid_t pid = child.pid();
  child.kill();
  std::vector<NamespaceType> types{NamespaceType::net};
  auto r = attach(t.paths, "ghost", pid, types);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::not_found)) << r.error().message();
  EXPECT_TRUE(dir_empty(t.paths.netns_dir));
}

TEST(Attach, ProcessExitingDuringAttachRollsBack) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  ParkedChild child(CLONE_NEWNET);
  ASSERT_TRUE(child.ready());
  std::vector<NamespaceType> types{NamespaceType::net, NamespaceType::ipc};
  // The pins are in place when the process dies: attach must notice through the pidfd and undo.
  auto r = detail::attach_with_hook(t.paths, "dying", child.pid(), types, [&] { child.kill(); });
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::process_exited)) << r.error().message();
  EXPECT_TRUE(dir_empty(t.paths.netns_dir));
  EXPECT_TRUE(dir_empty(t.paths.ns_dir("ipc")));
}

TEST(Attach, ExistingNameFails) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  auto pin = create_pinned(t.paths, NamespaceType::net, "used");
  ASSERT_OK(pin);
  ParkedChild child(CLONE_NEWNET);
  ASSERT_TRUE(child.ready());
  std::vector<NamespaceType> types{NamespaceType::net};
  auto r = attach(t.paths, "used", child.pid(), types);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::already_exists));
  auto still = Namespace::open_path(pin->path);
  ASSERT_OK(still);
  EXPECT_EQ(still->id(), pin->id);
  ASSERT_OK(remove_pinned(t.paths, "used"));
}

TEST(Attach, BadNameIsRejected) {
  TestPaths t;
  std::vector<NamespaceType> types{NamespaceType::net};
  auto r = attach(t.paths, "..", ::getpid(), types);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::invalid_name));
}

}  // namespace podns
