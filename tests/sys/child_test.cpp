// The child-process builder on the real kernel: what a started process inherits (fds, signal mask
// and dispositions), ids set in a copy of a busy multi-threaded parent, cwd, and failures that
// come back as errors naming the step instead of an exit code 127.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>

#include "child_test_util.hpp"
#include "sys/child.hpp"
#include "test_support.hpp"

namespace podns::sys {
namespace {

using test::sleeper_fds;
using test::proc_status_field;

// A process that stays up until killed, so /proc shows what it got after the exec.
ChildSpec sleeper() {
  ChildSpec spec;
  spec.argv = {"sleep", "1000"};
  spec.exec_paths = path_candidates("sleep");
  return spec;
}

std::string readlink_str(const std::string& path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

TEST(Child, OnlyHandedOverFdsReachTheProcess) {
  test::StrayFd stray;
  ASSERT_EQ(stray.get(), test::StrayFd::kNumber);
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd rd(p[0]), wr(p[1]);
  ChildSpec spec = sleeper();
  spec.fds = {{wr.get(), 5}};
  ChildPlan plan(std::move(spec));
  auto child = start_child(plan);
  ASSERT_OK(child);
  EXPECT_EQ(sleeper_fds(child->pid()), (std::set<int>{0, 1, 2, 5}));
  EXPECT_EQ(readlink_str(fmt::format("/proc/{}/fd/5", child->pid())),
            readlink_str(fmt::format("/proc/self/fd/{}", wr.get())));
  ASSERT_OK(child->kill_and_wait());
}

TEST(Child, MappedFdsThatCollideAreShuffledNotClobbered) {
  // a -> 4 and b -> 3, where b is likely fd 4 itself: the plan must park before it places.
  int a[2], b[2];
  ASSERT_EQ(::pipe2(a, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(b, O_CLOEXEC), 0);
  UniqueFd ar(a[0]), aw(a[1]), br(b[0]), bw(b[1]);
  ChildSpec spec = sleeper();
  spec.fds = {{aw.get(), br.get()}, {bw.get(), aw.get()}};
  ChildPlan plan(std::move(spec));
  auto child = start_child(plan);
  ASSERT_OK(child);
  EXPECT_EQ(readlink_str(fmt::format("/proc/{}/fd/{}", child->pid(), br.get())),
            readlink_str(fmt::format("/proc/self/fd/{}", aw.get())));
  EXPECT_EQ(readlink_str(fmt::format("/proc/{}/fd/{}", child->pid(), aw.get())),
            readlink_str(fmt::format("/proc/self/fd/{}", bw.get())));
  ASSERT_OK(child->kill_and_wait());
}

TEST(Child, SignalMaskAndDispositionsAreReset) {
  test::HostileSignals hostile;
  ChildPlan plan(sleeper());
  auto child = start_child(plan);
  ASSERT_OK(child);
  EXPECT_EQ(proc_status_field(child->pid(), "SigBlk"), "0000000000000000");
  EXPECT_EQ(proc_status_field(child->pid(), "SigIgn"), "0000000000000000");
  ASSERT_OK(child->kill_and_wait());
}

TEST(Child, ChdirWhereAsked) {
  test::TempDir dir("child");
  ChildSpec spec = sleeper();
  spec.cwd = dir.path();
  ChildPlan plan(std::move(spec));
  auto child = start_child(plan);
  ASSERT_OK(child);
  EXPECT_EQ(readlink_str(fmt::format("/proc/{}/cwd", child->pid())), dir.path());
  ASSERT_OK(child->kill_and_wait());
}

TEST(Child, MissingBinaryIsAClearError) {
  ChildSpec spec;
  spec.argv = {"/nonexistent/podns-no-such-plugin"};
  ChildPlan plan(std::move(spec));
  auto child = start_child(plan);
  ASSERT_FALSE(child);
  EXPECT_TRUE(child.error().is(std::errc::no_such_file_or_directory));
  EXPECT_EQ(child.error().message(), "exec /nonexistent/podns-no-such-plugin: No such file or directory");
}

TEST(Child, PathSearchFailureNamesTheCommand) {
  ChildSpec spec;
  spec.argv = {"podns-no-such-command"};
  spec.exec_paths = path_candidates("podns-no-such-command", "/nonexistent-a:/nonexistent-b");
  ASSERT_EQ(spec.exec_paths.size(), 2u);
  ChildPlan plan(std::move(spec));
  auto child = start_child(plan);
  ASSERT_FALSE(child);
  EXPECT_EQ(child.error().message(), "exec podns-no-such-command: No such file or directory");
}

TEST(Child, FailedChdirIsAClearError) {
  ChildSpec spec = sleeper();
  spec.cwd = "/nonexistent/podns-dir";
  ChildPlan plan(std::move(spec));
  auto child = start_child(plan);
  ASSERT_FALSE(child);
  EXPECT_EQ(child.error().message(), "chdir /nonexistent/podns-dir: No such file or directory");
}

TEST(Child, BadFdMappingIsRefusedBeforeCloning) {
  ChildSpec spec = sleeper();
  spec.fds = {{-1, 3}};
  ChildPlan plan(std::move(spec));
  auto child = start_child(plan);
  ASSERT_FALSE(child);
  EXPECT_TRUE(child.error().is(Errc::invalid_argument));
}

// setgroups/setresgid/setresuid in a child of a process whose other threads are busy being
// created and torn down: glibc's wrappers would wait for those threads' copies forever.
TEST(Child, IdsAreSetWithoutDeadlockUnderBusyThreads) {
  PODNS_REQUIRE_ROOT();
  test::BusyThreads busy(4);
  constexpr int kRuns = 300;
  std::string failure;
  int done = 0;
  bool in_time = test::finishes_within(std::chrono::seconds(90), [&](std::atomic<bool>& stop) {
    for (; done < kRuns && !stop.load(); ++done) {
      ChildSpec spec = sleeper();
      spec.ids = ChildIds{54321, 54322, std::vector<gid_t>{54323, 54324}, false};
      ChildPlan plan(std::move(spec));
      auto child = start_child(plan);
      if (!child) {
        failure = child.error().message();
        return;
      }
      std::string uid = proc_status_field(child->pid(), "Uid");
      std::string gid = proc_status_field(child->pid(), "Gid");
      std::string groups = proc_status_field(child->pid(), "Groups");
      (void)child->kill_and_wait();
      if (uid != "54321\t54321\t54321\t54321" || gid != "54322\t54322\t54322\t54322" || groups != "54323 54324") {
        failure = fmt::format("run {}: Uid {} Gid {} Groups {}", done, uid, gid, groups);
        return;
      }
    }
  });
  EXPECT_TRUE(in_time) << "a child hung (after " << done << " good runs)";
  EXPECT_EQ(failure, "");
  EXPECT_EQ(done, kRuns);
}

TEST(Child, FailedSetnsNamesTheStep) {
  // A regular file is not a namespace: setns refuses it.
  UniqueFd not_ns(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(not_ns);
  ChildSpec spec = sleeper();
  spec.joins = {{not_ns.get(), 0}};
  ChildPlan plan(std::move(spec));
  auto child = start_child(plan);
  ASSERT_FALSE(child);
  EXPECT_EQ(child.error().message(), fmt::format("setns fd {}: Invalid argument", not_ns.get()));
}

}  // namespace
}  // namespace podns::sys
