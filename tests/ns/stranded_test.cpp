// When a thread cannot switch back into its own namespace, podns must not kill the process that
// links it: the call fails with Errc::thread_stranded and the thread is marked. The failure is the
// kernel's own: capabilities are per thread, and without CAP_SYS_ADMIN in its effective set a
// thread's setns back is refused with EPERM.
#include <linux/capability.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <thread>

#include "ns/pin_internal.hpp"
#include "ns_test_util.hpp"
#include "podns/pin.hpp"
#include "podns/run_in_ns.hpp"
#include "test_support.hpp"

namespace podns {
using test::TestPaths;

namespace {

// Raise or drop CAP_SYS_ADMIN in the calling thread's effective set (it stays permitted).
bool set_sys_admin(bool on) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &hdr, data) < 0) return false;
  if (on)
    data[0].effective |= 1u << CAP_SYS_ADMIN;
  else
    data[0].effective &= ~(1u << CAP_SYS_ADMIN);
  return ::syscall(SYS_capset, &hdr, data) == 0;
}

NamespaceId current_id(NamespaceType t) {
  auto ns = Namespace::open_current(t);
  return ns ? ns->id() : NamespaceId{};
}

}  // namespace

TEST(Stranded, AFailedSwitchBackIsAnErrorAndMarksOnlyThatThread) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  auto pin = create_pinned(t.paths, NamespaceType::net, "strand");
  ASSERT_OK(pin);
  auto target = Namespace::open_path(pin->path, NamespaceType::net);
  ASSERT_OK(target);
  NamespaceId home = current_id(NamespaceType::net);
  Status first, second, other_type;
  bool stranded = false, second_ran = false;
  NamespaceId left_in;
  std::thread worker([&] {
    first = run_in_namespace(*target, [] { (void)set_sys_admin(false); });
    stranded = thread_is_stranded();
    left_in = current_id(NamespaceType::net);
    (void)set_sys_admin(true);
    // Even with the capability back, the thread stays marked: it never runs podns work again.
    second = run_in_namespace(*target, [&] { second_ran = true; });
    other_type = run_in_namespace_path("/proc/self/ns/uts", NamespaceType::uts, [] {});
  });
  worker.join();  // the process is still here: that is the point
  ASSERT_FALSE(first);
  EXPECT_TRUE(first.error().is(Errc::thread_stranded)) << first.error().message();
  EXPECT_NE(first.error().message().find("Operation not permitted"), std::string::npos) << first.error().message();
  EXPECT_TRUE(stranded);
  EXPECT_EQ(left_in, pin->id);
  ASSERT_FALSE(second);
  EXPECT_TRUE(second.error().is(Errc::thread_stranded));
  EXPECT_FALSE(second_ran);
  ASSERT_FALSE(other_type);
  EXPECT_TRUE(other_type.error().is(Errc::thread_stranded));
  // This thread is untouched.
  EXPECT_FALSE(thread_is_stranded());
  EXPECT_EQ(current_id(NamespaceType::net), home);
  EXPECT_OK(run_in_namespace(*target, [] {}));
  ASSERT_OK(remove_pinned(t.paths, "strand"));
}

TEST(Stranded, AnExceptionAfterAFailedSwitchBackStillMarksTheThread) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  auto pin = create_pinned(t.paths, NamespaceType::uts, "throw");
  ASSERT_OK(pin);
  auto target = Namespace::open_path(pin->path, NamespaceType::uts);
  ASSERT_OK(target);
  bool threw = false, stranded = false;
  std::thread worker([&] {
    try {
      (void)run_in_namespace(*target, []() -> int {
        (void)set_sys_admin(false);
        throw std::runtime_error("body failed");
      });
    } catch (const std::runtime_error&) {
      threw = true;
    }
    stranded = thread_is_stranded();
    (void)set_sys_admin(true);
  });
  worker.join();
  EXPECT_TRUE(threw);
  EXPECT_TRUE(stranded);
  ASSERT_OK(remove_pinned(t.paths, "throw"));
}

TEST(Stranded, CreatePinnedThatCannotSwitchBackFailsAndLeavesNothing) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  NamespaceId home = current_id(NamespaceType::net);
  Result<std::vector<PinnedNamespace>> made = fail(Errc::invalid_argument, "not run");
  bool stranded = false, left_home = false;
  std::thread worker([&] {
    NamespaceType net = NamespaceType::net;
    made = detail::create_pinned_with_hook(t.paths, std::span<const NamespaceType>(&net, 1), "nohome",
                                           [] { (void)set_sys_admin(false); });
    stranded = thread_is_stranded();
    left_home = !(current_id(NamespaceType::net) == home);
    (void)set_sys_admin(true);
  });
  worker.join();
  ASSERT_FALSE(made);
  EXPECT_TRUE(made.error().is(Errc::thread_stranded)) << made.error().message();
  EXPECT_TRUE(stranded);
  EXPECT_TRUE(left_home);
  auto pins = find_pins(t.paths, "nohome");
  ASSERT_OK(pins);
  EXPECT_TRUE(pins->empty());
  EXPECT_FALSE(thread_is_stranded());
  EXPECT_EQ(current_id(NamespaceType::net), home);
}

TEST(Stranded, CreatePinnedOnAStrandedThreadUnsharesOnAThreadOfItsOwn) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  auto pin = create_pinned(t.paths, NamespaceType::uts, "first");
  ASSERT_OK(pin);
  auto target = Namespace::open_path(pin->path, NamespaceType::uts);
  ASSERT_OK(target);
  Result<PinnedNamespace> made = fail(Errc::invalid_argument, "not run");
  std::thread worker([&] {
    (void)run_in_namespace(*target, [] { (void)set_sys_admin(false); });
    (void)set_sys_admin(true);
    made = create_pinned(t.paths, NamespaceType::net, "second");
  });
  worker.join();
  ASSERT_OK(made);
  ASSERT_OK(remove_pinned(t.paths, "second"));
  ASSERT_OK(remove_pinned(t.paths, "first"));
}

}  // namespace podns
