#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include "sys/pidfd.hpp"
#include "test_support.hpp"

namespace podns::sys {

namespace {
pid_t fork_sleeper() {
  pid_t pid = ::fork();
  if (pid == 0) {
    for (;;) ::pause();
  }
  return pid;
}
void reap(pid_t pid) {
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}
}  // namespace

TEST(Pidfd, OpenSelfIsAliveAndCloexec) {
  auto fd = pidfd_open(::getpid());
  ASSERT_OK(fd);
  EXPECT_TRUE(::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC);
  auto alive = pidfd_is_alive(fd->view());
  ASSERT_OK(alive);
  EXPECT_TRUE(*alive);
}

TEST(Pidfd, ZombieAndReapedAreNotAlive) {
  pid_t pid = fork_sleeper();
  ASSERT_GT(pid, 0);
  auto fd = pidfd_open(pid);
  ASSERT_OK(fd);
  ASSERT_OK(pidfd_signal(fd->view(), SIGKILL));
  // Wait until it is a zombie (not yet reaped): still not alive.
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT), 0);
  auto zombie = pidfd_is_alive(fd->view());
  ASSERT_OK(zombie);
  EXPECT_FALSE(*zombie);
  reap(pid);
  auto gone = pidfd_is_alive(fd->view());
  ASSERT_OK(gone);
  EXPECT_FALSE(*gone);
  auto sig = pidfd_signal(fd->view(), 0);
  ASSERT_FALSE(sig);
  EXPECT_TRUE(sig.error().is(std::errc::no_such_process));
}

TEST(Pidfd, NoSuchProcess) {
  pid_t pid = fork_sleeper();
  ASSERT_GT(pid, 0);
  ::kill(pid, SIGKILL);
  reap(pid);
  auto fd = pidfd_open(pid);
  ASSERT_FALSE(fd);
  EXPECT_TRUE(fd.error().is(std::errc::no_such_process));
  EXPECT_FALSE(pidfd_open(0));
  EXPECT_FALSE(pidfd_open(-1));
}

}  // namespace podns::sys
