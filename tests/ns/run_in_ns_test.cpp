// run_in_namespace: in and back, per thread; mnt on its own thread; user/time refused.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <thread>

#include "ns_test_util.hpp"
#include "podns/pin.hpp"
#include "podns/run_in_ns.hpp"
#include "test_support.hpp"

namespace podns {
using test::TestPaths;

namespace {
NamespaceId current_id(NamespaceType t) {
  auto ns = Namespace::open_current(t);
  return ns ? ns->id() : NamespaceId{};
}
}  // namespace

TEST(RunInNamespace, EntersAndComesBack) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  auto pin = create_pinned(t.paths, NamespaceType::net, "run");
  ASSERT_OK(pin);
  auto target = Namespace::open_path(pin->path, NamespaceType::net);
  ASSERT_OK(target);
  NamespaceId home = current_id(NamespaceType::net);
  auto inside = run_in_namespace(*target, [] { return current_id(NamespaceType::net); });
  ASSERT_OK(inside);
  EXPECT_EQ(*inside, pin->id);
  EXPECT_EQ(current_id(NamespaceType::net), home);
  ASSERT_OK(remove_pinned(t.paths, "run"));
}

TEST(RunInNamespace, OtherThreadsAreNeverAffected) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  auto pin = create_pinned(t.paths, NamespaceType::net, "threads");
  ASSERT_OK(pin);
  auto target = Namespace::open_path(pin->path);
  ASSERT_OK(target);
  NamespaceId home = current_id(NamespaceType::net);
  std::atomic<int> stage{0};
  NamespaceId seen_by_other;
  std::thread other([&] {
    while (stage.load() != 1) std::this_thread::yield();
    seen_by_other = current_id(NamespaceType::net);
    stage = 2;
  });
  auto st = run_in_namespace(*target, [&] {
    stage = 1;
    while (stage.load() != 2) std::this_thread::yield();
  });
  other.join();
  ASSERT_OK(st);
  EXPECT_EQ(seen_by_other, home);
  ASSERT_OK(remove_pinned(t.paths, "threads"));
}

TEST(RunInNamespace, ResultsPassThroughAndExceptionsRestore) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  auto pin = create_pinned(t.paths, NamespaceType::uts, "res");
  ASSERT_OK(pin);
  auto target = Namespace::open_path(pin->path);
  ASSERT_OK(target);
  NamespaceId home = current_id(NamespaceType::uts);
  Result<int> r = run_in_namespace(*target, []() -> Result<int> { return fail(Errc::busy, "inner"); });
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::busy));
  Status s = run_in_namespace(*target, []() -> Status { return {}; });
  EXPECT_OK(s);
  EXPECT_THROW((void)run_in_namespace(*target, []() -> int { throw std::runtime_error("x"); }), std::runtime_error);
  EXPECT_EQ(current_id(NamespaceType::uts), home);
  ASSERT_OK(remove_pinned(t.paths, "res"));
}

TEST(RunInNamespace, SethostnameStaysInside) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  auto pin = create_pinned(t.paths, NamespaceType::uts, "host");
  ASSERT_OK(pin);
  char before[256] = {};
  ::gethostname(before, sizeof before);
  auto target = Namespace::open_path(pin->path);
  ASSERT_OK(target);
  auto st = run_in_namespace(*target, [] { return ::sethostname("podns-inside", 12); });
  ASSERT_OK(st);
  EXPECT_EQ(*st, 0);
  char after[256] = {};
  ::gethostname(after, sizeof after);
  EXPECT_STREQ(before, after);
  auto inside = run_in_namespace(*target, [] {
    char h[256] = {};
    ::gethostname(h, sizeof h);
    return std::string(h);
  });
  ASSERT_OK(inside);
  EXPECT_EQ(*inside, "podns-inside");
  ASSERT_OK(remove_pinned(t.paths, "host"));
}

TEST(RunInNamespace, MountNamespaceOnADedicatedThread) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  auto pin = create_pinned(t.paths, NamespaceType::mnt, "mnt");
  ASSERT_OK(pin);
  auto target = Namespace::open_path(pin->path);
  ASSERT_OK(target);
  NamespaceId home = current_id(NamespaceType::mnt);
  char cwd_before[4096];
  ASSERT_TRUE(::getcwd(cwd_before, sizeof cwd_before));
  auto inside = run_in_namespace(*target, [] { return current_id(NamespaceType::mnt); });
  ASSERT_OK(inside);
  EXPECT_EQ(*inside, pin->id);
  EXPECT_EQ(current_id(NamespaceType::mnt), home);
  char cwd_after[4096];
  ASSERT_TRUE(::getcwd(cwd_after, sizeof cwd_after));
  EXPECT_STREQ(cwd_before, cwd_after);
  ASSERT_OK(remove_pinned(t.paths, "mnt"));
}

TEST(RunInNamespace, PidNamespaceAppliesToChildren) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  auto pin = create_pinned(t.paths, NamespaceType::pid, "pid");
  ASSERT_OK(pin);
  auto target = Namespace::open_path(pin->path);
  ASSERT_OK(target);
  auto status = run_in_namespace(*target, [] {
    pid_t child = ::fork();
    // PID 1 of the new namespace is podns's holder init; the first process to join is PID 2.
    if (child == 0) _exit(::getpid());
    int st = -1;
    ::waitpid(child, &st, 0);
    return st;
  });
  ASSERT_OK(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 2) << *status;
  ASSERT_OK(remove_pinned(t.paths, "pid"));
}

TEST(RunInNamespace, UserAndTimeAreRefused) {
  auto user = Namespace::open_current(NamespaceType::user);
  ASSERT_OK(user);
  bool ran = false;
  auto r = run_in_namespace(*user, [&] { ran = true; });
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::wrong_thread_model));
  auto time = Namespace::open_current(NamespaceType::time);
  ASSERT_OK(time);
  auto r2 = run_in_namespace(*time, [&] { ran = true; });
  ASSERT_FALSE(r2);
  EXPECT_TRUE(r2.error().is(Errc::wrong_thread_model));
  EXPECT_FALSE(ran);
}

TEST(RunInNamespace, ByPathChecksTheType) {
  bool ran = false;
  auto r = run_in_namespace_path("/proc/self/ns/uts", NamespaceType::net, [&] { ran = true; });
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::wrong_namespace_type));
  EXPECT_FALSE(ran);
}

}  // namespace podns
