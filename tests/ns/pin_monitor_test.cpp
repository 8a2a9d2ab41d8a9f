// PinMonitor: pins reported when the namespace is mounted (not when the file appears) and when the
// pin is unlinked; files that never become pins are not reported.
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "podns/pin.hpp"
#include "podns/pin_monitor.hpp"
#include "ns_test_util.hpp"

namespace podns {
using test::TestPaths;
using namespace std::chrono_literals;

namespace {

// Events until `want` of them came or `within` passed.
std::vector<PinEvent> collect(PinMonitor& m, size_t want, std::chrono::milliseconds within = 2s) {
  std::vector<PinEvent> all;
  auto deadline = std::chrono::steady_clock::now() + within;
  while (all.size() < want && std::chrono::steady_clock::now() < deadline) {
    auto got = m.wait(100ms);
    if (!got) {
      ADD_FAILURE() << got.error().message();
      break;
    }
    all.insert(all.end(), got->begin(), got->end());
  }
  return all;
}

}  // namespace

TEST(PinMonitor, ReportsPinsOfEveryTypeAddedAndRemoved) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  auto m = PinMonitor::open(t.paths);
  ASSERT_OK(m);
  std::vector<NamespaceType> types{NamespaceType::net, NamespaceType::uts};
  ASSERT_OK(create_pinned(t.paths, types, "watched"));
  auto added = collect(*m, 2);
  ASSERT_EQ(added.size(), 2u);
  for (const PinEvent& e : added) {
    EXPECT_EQ(e.kind, PinEvent::Kind::added);
    EXPECT_EQ(e.name, "watched");
    EXPECT_EQ(e.path, pin_path(t.paths, e.type, "watched"));
  }
  EXPECT_NE(added[0].type, added[1].type);

  ASSERT_OK(remove_pinned(t.paths, "watched"));
  auto removed = collect(*m, 2);
  ASSERT_EQ(removed.size(), 2u);
  for (const PinEvent& e : removed) {
    EXPECT_EQ(e.kind, PinEvent::Kind::removed);
    EXPECT_EQ(e.name, "watched");
  }
  EXPECT_TRUE(collect(*m, 1, 300ms).empty());
}

TEST(PinMonitor, AFileIsAPinOnlyOnceSomethingIsMountedOnIt) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  auto m = PinMonitor::open(t.paths);
  ASSERT_OK(m);
  // What a pinner whose mount failed leaves for a moment: an empty file, then nothing.
  std::string path = t.paths.netns_dir + "/never-mounted";
  int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_RDONLY | O_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  ::close(fd);
  EXPECT_TRUE(collect(*m, 1, 300ms).empty());
  // Mounting onto it later (the second half of `ip netns add`) makes it a pin.
  ASSERT_EQ(::mount("/proc/self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr), 0) << std::strerror(errno);
  auto added = collect(*m, 1);
  ASSERT_EQ(added.size(), 1u);
  EXPECT_EQ(added[0].kind, PinEvent::Kind::added);
  EXPECT_EQ(added[0].name, "never-mounted");
  ASSERT_OK(remove_pinned(t.paths, "never-mounted"));
  auto removed = collect(*m, 1);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].kind, PinEvent::Kind::removed);

  // A stale file unlinked is no event.
  fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_RDONLY | O_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  ::close(fd);
  ASSERT_EQ(::unlink(path.c_str()), 0);
  EXPECT_TRUE(collect(*m, 1, 300ms).empty());
}

TEST(PinMonitor, PinsLiveAtOpenAreReportedOnlyWhenRemoved) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  ASSERT_OK(create_pinned(t.paths, NamespaceType::ipc, "before"));
  auto m = PinMonitor::open(t.paths);
  ASSERT_OK(m);
  EXPECT_TRUE(collect(*m, 1, 300ms).empty());
  ASSERT_OK(remove_pinned(t.paths, "before"));
  auto removed = collect(*m, 1);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].kind, PinEvent::Kind::removed);
  EXPECT_EQ(removed[0].type, NamespaceType::ipc);
}

}  // namespace podns
