#include "podns/state/lock.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_support.hpp"

namespace podns::state {
namespace {

using podns::test::TempDir;
using namespace std::chrono_literals;

TEST(Lock, TwoOperationsOnOnePodSerialize) {
  TempDir dir;
  auto a = lock_pod(dir.path(), "web");
  ASSERT_OK(a);
  EXPECT_TRUE(pod_locked(dir.path(), "web"));
  auto b = lock_pod(dir.path(), "web", 0ms);
  ASSERT_FALSE(b);
  EXPECT_TRUE(b.error().is(Errc::busy)) << b.error().message();
  // Distinct pods do not contend.
  EXPECT_OK(lock_pod(dir.path(), "db", 0ms));
  a->release();
  EXPECT_FALSE(pod_locked(dir.path(), "web"));
  EXPECT_OK(lock_pod(dir.path(), "web", 0ms));
}

TEST(Lock, GcExcludesPodOperations) {
  TempDir dir;
  auto op1 = lock_global(dir.path(), FileLock::Mode::shared);
  auto op2 = lock_global(dir.path(), FileLock::Mode::shared, 0ms);
  ASSERT_OK(op1);
  ASSERT_OK(op2);
  auto gc = lock_global(dir.path(), FileLock::Mode::exclusive, 50ms);
  ASSERT_FALSE(gc);
  EXPECT_TRUE(gc.error().is(Errc::busy));
  op1->release();
  op2->release();
  auto gc2 = lock_global(dir.path(), FileLock::Mode::exclusive, 0ms);
  ASSERT_OK(gc2);
  EXPECT_FALSE(lock_global(dir.path(), FileLock::Mode::shared, 0ms));
}

TEST(Lock, WaitsForTheHolderToFinish) {
  TempDir dir;
  int ready[2];
  ASSERT_EQ(pipe2(ready, O_CLOEXEC), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto l = lock_pod(dir.path(), "web");
    if (!l) _exit(1);
    char c = 'x';
    if (write(ready[1], &c, 1) != 1) _exit(2);
    usleep(200 * 1000);
    _exit(0);
  }
  close(ready[1]);
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  auto t0 = std::chrono::steady_clock::now();
  auto l = lock_pod(dir.path(), "web", 5s);
  EXPECT_OK(l);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 100ms);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
}

TEST(Lock, DiesWithAKilledHolder) {
  TempDir dir;
  int ready[2];
  ASSERT_EQ(pipe2(ready, O_CLOEXEC), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto l = lock_pod(dir.path(), "web");
    char c = 'x';
    if (!l || write(ready[1], &c, 1) != 1) _exit(1);
    pause();
    _exit(0);
  }
  close(ready[1]);
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  EXPECT_TRUE(pod_locked(dir.path(), "web"));
  kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  // This is how recovery tells a crashed operation from a live one.
  EXPECT_FALSE(pod_locked(dir.path(), "web"));
  EXPECT_OK(lock_pod(dir.path(), "web", 0ms));
}

}  // namespace
}  // namespace podns::state

namespace podns::state {
namespace {

TEST(Lock, UnlinkUnderLockHandsWaitersTheNewFile) {
  podns::test::TempDir dir;
  auto a = lock_pod(dir.path(), "web");
  ASSERT_OK(a);
  std::string path = a->path();
  a->unlink_and_release();
  EXPECT_NE(access(path.c_str(), F_OK), 0);
  auto b = lock_pod(dir.path(), "web", std::chrono::milliseconds(0));
  ASSERT_OK(b);
  EXPECT_EQ(access(path.c_str(), F_OK), 0);
  EXPECT_FALSE(lock_pod(dir.path(), "web", std::chrono::milliseconds(0)));
}

}  // namespace
}  // namespace podns::state
