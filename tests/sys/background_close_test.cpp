// close_in_background on the real kernel: the closer closes what it was handed, everything else
// before that, and is nobody's child to reap.
#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "sys/background_close.hpp"
#include "test_support.hpp"

namespace podns::sys {
namespace {

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) == 0) r = fds[0], w = fds[1];
  }
  ~Pipe() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
  void close_write() { ::close(w), w = -1; }
};

// Whether the read end sees EOF within `ms`: every copy of the write end is closed.
bool eof_within(int r, int ms) {
  pollfd p{r, POLLIN, 0};
  if (::poll(&p, 1, ms) != 1) return false;
  char c;
  return ::read(r, &c, 1) == 0;
}

bool no_child_left() { return ::waitpid(-1, nullptr, WNOHANG) < 0 && errno == ECHILD; }

TEST(BackgroundClose, ClosesTheOtherFdsFirstThenTheHandedOnesAndLeavesNoChild) {
  Pipe handed, other;
  ASSERT_GE(handed.r, 0);
  ASSERT_GE(other.r, 0);
  // A lock held through an open file description the closer gets a copy of.
  std::string lock_path = fmt::format("/tmp/podns-bgclose-{}.lock", ::getpid());
  int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(lock_fd, 0);
  ASSERT_EQ(::flock(lock_fd, LOCK_EX), 0);

  int fd = handed.w;
  ASSERT_OK(close_in_background({&fd, 1}));
  EXPECT_TRUE(no_child_left()) << "the middle process is reaped, the closer is not ours";
  handed.close_write();
  other.close_write();
  ::close(lock_fd);

  // The closer closes the handed fd last: once it is closed, the rest are too.
  ASSERT_TRUE(eof_within(handed.r, 10'000)) << "the closer never closed the fd it was handed";
  EXPECT_TRUE(eof_within(other.r, 0)) << "the closer held an fd it was not handed";
  int again = ::open(lock_path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(again, 0);
  EXPECT_EQ(::flock(again, LOCK_EX | LOCK_NB), 0) << "the closer still held the lock";
  ::close(again);
  ::unlink(lock_path.c_str());
}

TEST(BackgroundClose, TheCloserIsNamedAndExitsCleanly) {
  // As a subreaper, the orphaned closer comes back to this process to be reaped: its name and exit
  // status can be seen.
  test::ChildSubreaper subreaper;
  ASSERT_TRUE(subreaper.ok());
  Pipe handed;
  int fd = handed.w;
  ASSERT_OK(close_in_background({&fd, 1}));
  handed.close_write();
  int status = test::reap_child_named("podns-close", 10'000);
  ASSERT_NE(status, -1) << "no podns-close came back to the subreaper";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_TRUE(eof_within(handed.r, 0));
  EXPECT_TRUE(no_child_left());
}

TEST(BackgroundClose, NothingToCloseStartsNothing) {
  test::ChildSubreaper subreaper;
  ASSERT_TRUE(subreaper.ok());
  int none = -1;
  EXPECT_OK(close_in_background({}));
  EXPECT_OK(close_in_background({&none, 1}));
  EXPECT_TRUE(no_child_left());
}

}  // namespace
}  // namespace podns::sys
