// The fault seam itself: nothing happens without a handler, a handler decides per point, Scoped
// uninstalls, and a crash point really SIGKILLs the process.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "sys/fault.hpp"
#include "sys/io.hpp"
#include "sys/mount.hpp"
#include "test_support.hpp"

namespace podns::sys {
namespace {

TEST(Fault, WithoutAHandlerEveryCallIsTheKernels) {
  fault::crash_point("create.pinned");  // returns: nothing installed
  EXPECT_EQ(fault::injected_error(fault::kUmount), 0);
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  EXPECT_EQ(sys::write(p[1], "x", 1), 1);
  char c = 0;
  EXPECT_EQ(sys::read(p[0], &c, 1), 1);
  EXPECT_EQ(c, 'x');
  ::close(p[0]);
  ::close(p[1]);
  // Not a mount point: the kernel's own answer.
  test::TempDir dir("fault");
  errno = 0;
  EXPECT_EQ(sys::umount2(dir.path().c_str(), MNT_DETACH), -1);
  EXPECT_EQ(errno, EINVAL);
}

TEST(Fault, TheHandlerDecidesPerPointAndScopedUninstalls) {
  std::vector<std::string> seen;
  {
    fault::Scoped faults([&](std::string_view point) {
      seen.emplace_back(point);
      return fault::Decision{.error = point == fault::kRead ? EINTR : 0};
    });
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    EXPECT_EQ(sys::write(p[1], "x", 1), 1);  // the handler let this one through
    char c = 0;
    errno = 0;
    EXPECT_EQ(sys::read(p[0], &c, 1), -1);
    EXPECT_EQ(errno, EINTR);
    EXPECT_EQ(c, 0);  // the read never happened: the byte is still in the pipe
    fault::crash_point("create.pinned");  // asked, but the handler wants no crash
    ::close(p[0]);
    ::close(p[1]);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"sys.write", "sys.read", "create.pinned"}));
  EXPECT_EQ(fault::injected_error(fault::kRead), 0);  // uninstalled
  EXPECT_EQ(seen.size(), 3u);
}

TEST(Fault, ACrashPointKillsTheProcessThere) {
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    fault::install([](std::string_view point) { return fault::Decision{.crash = point == "rm.unpinned"}; });
    fault::crash_point("create.pinned");
    fault::crash_point("rm.unpinned");
    ::_exit(0);  // not reached
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ASSERT_TRUE(WIFSIGNALED(status)) << "exited with " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

// Threads reaching points while another installs and uninstalls: no torn handler (TSan/ASan).
TEST(Fault, InstallingWhileOtherThreadsAskIsSafe) {
  std::atomic<bool> stop{false};
  std::atomic<long> asked{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      while (!stop.load()) {
        (void)fault::injected_error(fault::kWrite);
        asked.fetch_add(1);
      }
    });
  for (int i = 0; i < 2000 || asked.load() < 10000; ++i) {
    std::string tag = std::to_string(i);
    fault::install([tag](std::string_view) { return fault::Decision{.error = tag.empty() ? EIO : 0}; });
    fault::install({});
  }
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_GT(asked.load(), 0);
}

}  // namespace
}  // namespace podns::sys
