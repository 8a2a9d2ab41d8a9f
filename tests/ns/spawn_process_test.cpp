// ChildProcess and clone_process on the real kernel, through clone3 and through the fallback.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "clone_fallback.hpp"
#include "podns/process.hpp"
#include "test_support.hpp"

namespace podns {
namespace {

class CloneBoth : public ::testing::TestWithParam<bool> {};

TEST_P(CloneBoth, ExitCodeComesBackThroughWait) {
  test::CloneFallback fallback(GetParam());
  auto fn = [] { return 7; };
  auto child = clone_process({}, fn);
  ASSERT_OK(child);
  EXPECT_GT(child->pid(), 0);
  auto code = child->wait();
  ASSERT_OK(code);
  EXPECT_EQ(*code, 7);
  // Waiting again gives the same answer and does not touch a recycled pid.
  auto again = child->wait();
  ASSERT_OK(again);
  EXPECT_EQ(*again, 7);
  EXPECT_FALSE(*child->alive());
}

TEST_P(CloneBoth, PidfdIsHeld) {
  test::CloneFallback fallback(GetParam());
  auto fn = [] { return 0; };
  auto child = clone_process({}, fn);
  ASSERT_OK(child);
  EXPECT_EQ(fallback.asked(), GetParam() ? 1 : 0);
  EXPECT_TRUE(child->pidfd());
  ASSERT_OK(child->wait());
}

TEST_P(CloneBoth, SignalGives128PlusSignal) {
  test::CloneFallback fallback(GetParam());
  auto fn = [] {
    for (;;) ::pause();
    return 0;
  };
  auto child = clone_process({}, fn);
  ASSERT_OK(child);
  EXPECT_TRUE(*child->alive());
  ASSERT_OK(child->signal(SIGTERM));
  auto code = child->wait();
  ASSERT_OK(code);
  EXPECT_EQ(*code, 128 + SIGTERM);
  EXPECT_FALSE(*child->alive());
  auto s = child->signal(SIGTERM);
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().is(Errc::process_exited));
}

INSTANTIATE_TEST_SUITE_P(Process, CloneBoth, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "fallback" : "clone3"; });

TEST(ChildProcess, DestructorKillsAndReaps) {
  pid_t pid;
  {
    auto fn = [] {
      for (;;) ::pause();
      return 0;
    };
    auto child = clone_process({}, fn);
    ASSERT_OK(child);
    pid = child->pid();
    EXPECT_EQ(::kill(pid, 0), 0);
  }
  // Reaped, not a zombie: the pid is gone (the leak check also fails on zombies).
  EXPECT_EQ(::kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

TEST(ChildProcess, AliveIsFalseForAZombie) {
  auto fn = [] { return 3; };
  auto child = clone_process({}, fn);
  ASSERT_OK(child);
  // Not reaped yet: a zombie still answers kill(pid, 0), but it is not alive.
  for (int i = 0; i < 200 && *child->alive(); ++i) ::usleep(5000);
  EXPECT_FALSE(*child->alive());
  EXPECT_EQ(::kill(child->pid(), 0), 0);
  EXPECT_EQ(*child->wait(), 3);
}

TEST(ChildProcess, TryWaitDoesNotBlock) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd rd(p[0]), wr(p[1]);
  int rfd = rd.get(), wfd = wr.get();
  auto fn = [rfd, wfd] {
    ::close(wfd);  // our copy of the write end, or the read below never sees EOF
    char c;
    (void)!::read(rfd, &c, 1);
    return 5;
  };
  auto child = clone_process({}, fn);
  ASSERT_OK(child);
  auto r = child->try_wait();
  ASSERT_OK(r);
  EXPECT_FALSE(r->has_value());
  wr.reset();
  rd.reset();
  EXPECT_EQ(*child->wait(), 5);
  EXPECT_EQ(**child->try_wait(), 5);
}

TEST(ChildProcess, DetachHandsOverTheChild) {
  auto fn = [] { return 9; };
  auto child = clone_process({}, fn);
  ASSERT_OK(child);
  pid_t pid = child->detach();
  EXPECT_FALSE(*child);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 9);
}

TEST(ChildProcess, MoveAssignKillsThePreviousChild) {
  auto sleeper = [] {
    for (;;) ::pause();
    return 0;
  };
  auto a = clone_process({}, sleeper);
  ASSERT_OK(a);
  pid_t first = a->pid();
  auto quick = [] { return 0; };
  auto b = clone_process({}, quick);
  ASSERT_OK(b);
  *a = std::move(*b);
  EXPECT_EQ(::kill(first, 0), -1);
  EXPECT_EQ(*a->wait(), 0);
}

TEST(Clone, NamespaceFlagsPutTheChildInNewNamespaces) {
  PODNS_REQUIRE_ROOT();
  for (bool fallback : {false, true}) {
    auto fn = [] {
      // A new uts namespace: our hostname change does not reach the parent.
      if (::sethostname("podns-clone-test", 16) < 0) return 1;
      utsname u;
      ::uname(&u);
      return std::strcmp(u.nodename, "podns-clone-test") == 0 ? 0 : 2;
    };
    utsname before;
    ::uname(&before);
    test::CloneFallback without_clone3(fallback);
    auto child = clone_process({.namespace_flags = CLONE_NEWUTS}, fn);
    ASSERT_OK(child);
    EXPECT_EQ(*child->wait(), 0);
    utsname after;
    ::uname(&after);
    EXPECT_STREQ(before.nodename, after.nodename);
  }
}

TEST(Clone, Have3IsProbed) {
  // This kernel is 6.x: clone3 exists. The probe must not report a false negative.
  EXPECT_TRUE(have_clone3());
}

}  // namespace
}  // namespace podns
