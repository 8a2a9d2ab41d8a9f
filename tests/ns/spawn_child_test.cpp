// spawn() and exec_in_namespaces() through the child-process builder: what the caller's process
// state leaves in the started program (nothing: no stray fds, no blocked or ignored signals), and
// becoming root in a new user namespace while other threads of the caller are busy.
#include <fcntl.h>
#include <sched.h>

#include <fmt/format.h>

#include "child_test_util.hpp"
#include "podns/namespace.hpp"
#include "podns/ns_exec.hpp"
#include "podns/spawn.hpp"
#include "test_support.hpp"

namespace podns {
namespace {

using test::sleeper_fds;
using test::proc_status_field;

// A shell line that fails when the stray fd or a blocked or ignored signal reached it. The
// test builtin checks the shell itself, grep the process the shell started.
const std::string kCleanCheck = fmt::format(
    "[ ! -e /proc/self/fd/{} ] && grep -q '^SigBlk:[[:space:]]*0*$' /proc/self/status && "
    "grep -q '^SigIgn:[[:space:]]*0*$' /proc/self/status",
    test::StrayFd::kNumber);

TEST(SpawnChild, StrayFdDoesNotReachTheProcess) {
  test::StrayFd stray;
  ASSERT_EQ(stray.get(), test::StrayFd::kNumber);
  auto child = spawn({.argv = {"sleep", "1000"}});
  ASSERT_OK(child);
  EXPECT_EQ(sleeper_fds(child->pid()), (std::set<int>{0, 1, 2}));
  ASSERT_OK(child->kill_and_wait());
}

TEST(SpawnChild, SignalMaskAndDispositionsAreReset) {
  test::HostileSignals hostile;
  auto child = spawn({.argv = {"sleep", "1000"}});
  ASSERT_OK(child);
  EXPECT_EQ(proc_status_field(child->pid(), "SigBlk"), "0000000000000000");
  EXPECT_EQ(proc_status_field(child->pid(), "SigIgn"), "0000000000000000");
  ASSERT_OK(child->kill_and_wait());
}

TEST(SpawnChild, ChdirWhereAsked) {
  test::TempDir dir("spawncwd");
  auto child = spawn({.argv = {"sleep", "1000"}, .cwd = dir.path()});
  ASSERT_OK(child);
  char buf[4096];
  ssize_t n = ::readlink(fmt::format("/proc/{}/cwd", child->pid()).c_str(), buf, sizeof buf);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), dir.path());
  ASSERT_OK(child->kill_and_wait());
}

// The helper becomes uid/gid 0 in the new user namespace (setgroups, setresgid, setresuid) while
// the caller's other threads are created and torn down around every clone.
TEST(SpawnChild, BecomesRootInANewUserNamespaceUnderBusyThreads) {
  PODNS_REQUIRE_ROOT();
  IdMappings maps;
  maps.uid = {{0, 1000000, 65536}};
  maps.gid = {{0, 1000000, 65536}};
  test::BusyThreads busy(4);
  constexpr int kRuns = 200;
  std::string failure;
  int done = 0;
  bool in_time = test::finishes_within(std::chrono::seconds(90), [&](std::atomic<bool>& stop) {
    for (; done < kRuns && !stop.load(); ++done) {
      auto child = spawn({.argv = {"sleep", "1000"}, .namespaces = {{NamespaceType::user, ""}}, .idmaps = maps});
      if (!child) {
        failure = child.error().message();
        return;
      }
      // Seen from here: uid 0 inside is 1000000 outside.
      std::string uid = proc_status_field(child->pid(), "Uid");
      std::string gid = proc_status_field(child->pid(), "Gid");
      (void)child->kill_and_wait();
      if (uid != "1000000\t1000000\t1000000\t1000000" || gid != "1000000\t1000000\t1000000\t1000000") {
        failure = fmt::format("run {}: Uid {} Gid {}", done, uid, gid);
        return;
      }
    }
  });
  EXPECT_TRUE(in_time) << "a helper hung (after " << done << " good runs)";
  EXPECT_EQ(failure, "");
  EXPECT_EQ(done, kRuns);
}

TEST(NsExecChild, StrayFdAndSignalsDoNotReachTheCommand) {
  PODNS_REQUIRE_ROOT();
  test::StrayFd stray;
  ASSERT_EQ(stray.get(), test::StrayFd::kNumber);
  test::HostileSignals hostile;
  auto uts = Namespace::open_current(NamespaceType::uts);
  ASSERT_OK(uts);
  NsExecRequest req;
  req.argv = {"sh", "-c", kCleanCheck};
  req.namespaces.push_back(std::move(*uts));
  auto code = exec_in_namespaces(req);
  ASSERT_OK(code);
  EXPECT_EQ(*code, 0) << "a stray fd, a blocked or an ignored signal reached the command";
}

TEST(NsExecChild, MissingCommandIsAClearError) {
  PODNS_REQUIRE_ROOT();
  auto uts = Namespace::open_current(NamespaceType::uts);
  ASSERT_OK(uts);
  NsExecRequest req;
  req.argv = {"podns-no-such-command"};
  req.namespaces.push_back(std::move(*uts));
  auto code = exec_in_namespaces(req);
  ASSERT_FALSE(code) << "exit code " << *code;
  EXPECT_EQ(code.error().message(), "spawn: exec podns-no-such-command: No such file or directory");
}

}  // namespace
}  // namespace podns
