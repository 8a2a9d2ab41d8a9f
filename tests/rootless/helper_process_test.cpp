// spawn_helper through the child-process builder: a rootless helper gets its own session, /dev/null
// on stdin, default signals and nothing else of ours; a missing binary is an error.
#include <fcntl.h>
#include <unistd.h>

#include "child_test_util.hpp"
#include "rootless/helper_process.hpp"
#include "test_support.hpp"

namespace podns::rootless::detail {
namespace {

TEST(HelperProcess, GetsOnlyItsFdsDefaultSignalsAndASessionOfItsOwn) {
  test::StrayFd stray;
  ASSERT_EQ(stray.get(), test::StrayFd::kNumber);
  test::HostileSignals hostile;
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd rd(p[0]), wr(p[1]);
  auto helper = spawn_helper("/bin/sleep", {"sleep", "1000"}, {{1, wr.get()}, {4, wr.get()}});
  ASSERT_OK(helper);
  EXPECT_EQ(test::sleeper_fds(helper->pid), (std::set<int>{0, 1, 2, 4}));
  EXPECT_EQ(test::proc_status_field(helper->pid, "SigBlk"), "0000000000000000");
  EXPECT_EQ(test::proc_status_field(helper->pid, "SigIgn"), "0000000000000000");
  EXPECT_EQ(::getsid(helper->pid), helper->pid);
  char stdin_target[256] = {};
  ASSERT_GT(::readlink(("/proc/" + std::to_string(helper->pid) + "/fd/0").c_str(), stdin_target,
                       sizeof stdin_target - 1),
            0);
  EXPECT_STREQ(stdin_target, "/dev/null");
  EXPECT_OK(terminate(helper->pidfd.view()));
}

TEST(HelperProcess, MissingBinaryIsAnError) {
  auto helper = spawn_helper("/nonexistent/podns-helper", {"podns-helper"}, {});
  ASSERT_FALSE(helper);
  EXPECT_EQ(helper.error().message(), "exec /nonexistent/podns-helper: No such file or directory");
}

}  // namespace
}  // namespace podns::rootless::detail
