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

// What a test enters: a new namespace of one type, pinned below a private run dir and opened;
// unpinned again when the test ends.
class Target {
 public:
  explicit Target(NamespaceType type) : pin_(create_pinned(t_.paths, type, "target")) {
    if (pin_) ns_ = Namespace::open_path(pin_->path, type);
  }
  ~Target() {
    if (pin_) {
      EXPECT_TRUE(remove_pinned(t_.paths, "target").has_value());
    }
  }
  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;

  // "" when pinned and opened, else what failed.
  std::string error() const { return !pin_ ? pin_.error().message() : !ns_ ? ns_.error().message() : ""; }
  const Namespace& ns() const { return *ns_; }
  NamespaceId id() const { return pin_->id; }

 private:
  TestPaths t_;
  Result<PinnedNamespace> pin_;
  Result<Namespace> ns_ = fail(Errc::not_found, "not pinned");
};
}  // namespace

TEST(RunInNamespace, EntersAndComesBack) {
  PODNS_REQUIRE_ROOT();
  Target target(NamespaceType::net);
  ASSERT_EQ(target.error(), "");
  NamespaceId home = current_id(NamespaceType::net);
  auto inside = run_in_namespace(target.ns(), [] { return current_id(NamespaceType::net); });
  ASSERT_OK(inside);
  EXPECT_EQ(*inside, target.id());
  EXPECT_EQ(current_id(NamespaceType::net), home);
}

TEST(RunInNamespace, OtherThreadsAreNeverAffected) {
  PODNS_REQUIRE_ROOT();
  Target target(NamespaceType::net);
  ASSERT_EQ(target.error(), "");
  NamespaceId home = current_id(NamespaceType::net);
  std::atomic<int> stage{0};
  NamespaceId seen_by_other;
  std::thread other([&] {
    while (stage.load() != 1) std::this_thread::yield();
    seen_by_other = current_id(NamespaceType::net);
    stage = 2;
  });
  auto st = run_in_namespace(target.ns(), [&] {
    stage = 1;
    while (stage.load() != 2) std::this_thread::yield();
  });
  other.join();
  ASSERT_OK(st);
  EXPECT_EQ(seen_by_other, home);
}

TEST(RunInNamespace, ResultsPassThroughAndExceptionsRestore) {
  PODNS_REQUIRE_ROOT();
  Target target(NamespaceType::uts);
  ASSERT_EQ(target.error(), "");
  NamespaceId home = current_id(NamespaceType::uts);
  Result<int> r = run_in_namespace(target.ns(), []() -> Result<int> { return fail(Errc::busy, "inner"); });
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::busy));
  Status s = run_in_namespace(target.ns(), []() -> Status { return {}; });
  EXPECT_OK(s);
  EXPECT_THROW((void)run_in_namespace(target.ns(), []() -> int { throw std::runtime_error("x"); }), std::runtime_error);
  EXPECT_EQ(current_id(NamespaceType::uts), home);
}

TEST(RunInNamespace, SethostnameStaysInside) {
  PODNS_REQUIRE_ROOT();
  Target target(NamespaceType::uts);
  ASSERT_EQ(target.error(), "");
  char before[256] = {};
  ::gethostname(before, sizeof before);
  auto st = run_in_namespace(target.ns(), [] { return ::sethostname("podns-inside", 12); });
  ASSERT_OK(st);
  EXPECT_EQ(*st, 0);
  char after[256] = {};
  ::gethostname(after, sizeof after);
  EXPECT_STREQ(before, after);
  auto inside = run_in_namespace(target.ns(), [] {
    char h[256] = {};
    ::gethostname(h, sizeof h);
    return std::string(h);
  });
  ASSERT_OK(inside);
  EXPECT_EQ(*inside, "podns-inside");
}

TEST(RunInNamespace, MountNamespaceOnADedicatedThread) {
  PODNS_REQUIRE_ROOT();
  Target target(NamespaceType::mnt);
  ASSERT_EQ(target.error(), "");
  NamespaceId home = current_id(NamespaceType::mnt);
  char cwd_before[4096];
  ASSERT_TRUE(::getcwd(cwd_before, sizeof cwd_before));
  auto inside = run_in_namespace(target.ns(), [] { return current_id(NamespaceType::mnt); });
  ASSERT_OK(inside);
  EXPECT_EQ(*inside, target.id());
  EXPECT_EQ(current_id(NamespaceType::mnt), home);
  char cwd_after[4096];
  ASSERT_TRUE(::getcwd(cwd_after, sizeof cwd_after));
  EXPECT_STREQ(cwd_before, cwd_after);
}

TEST(RunInNamespace, PidNamespaceAppliesToChildren) {
  PODNS_REQUIRE_ROOT();
  Target target(NamespaceType::pid);
  ASSERT_EQ(target.error(), "");
  auto status = run_in_namespace(target.ns(), [] {
    pid_t child = ::fork();
    // PID 1 of the new namespace is podns's holder init; the first process to join is PID 2.
    if (child == 0) _exit(::getpid());
    int st = -1;
    ::waitpid(child, &st, 0);
    return st;
  });
  ASSERT_OK(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 2) << *status;
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
