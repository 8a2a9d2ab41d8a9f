// ProcessExec through the child-process builder: a plugin sees only its stdin/stdout/stderr and
// default signals whatever the embedding program left open or blocked, and a missing plugin is an
// error, not an exit code 127.
#include <sys/stat.h>

#include <fstream>

#include <fmt/format.h>

#include "child_test_util.hpp"
#include "podns/cni/invoke.hpp"
#include "test_support.hpp"

namespace podns::cni {
namespace {

TEST(ProcessExecChild, StrayFdAndSignalsDoNotReachThePlugin) {
  test::TempDir dir("cniexec");
  std::string plugin = dir / "report";
  {
    std::ofstream f(plugin);
    f << "#!/bin/sh\n"
      << "ls /proc/self/fd/ | tr '\\n' ' '; echo\n"  // ls's own fds: 0 1 2 and its directory
      << "grep -E '^Sig(Blk|Ign):' /proc/self/status\n";
  }
  ASSERT_EQ(::chmod(plugin.c_str(), 0755), 0);
  test::StrayFd stray;
  ASSERT_EQ(stray.get(), test::StrayFd::kNumber);
  test::HostileSignals hostile;
  ProcessExec exec;
  auto out = exec.run({.path = plugin, .env = {"PATH=/usr/bin:/bin"}});
  ASSERT_OK(out);
  EXPECT_EQ(out->exit_code, 0) << out->err;
  EXPECT_EQ(out->out.find(fmt::format(" {} ", test::StrayFd::kNumber)), std::string::npos) << out->out;
  EXPECT_NE(out->out.find("SigBlk:\t0000000000000000\n"), std::string::npos) << out->out;
  EXPECT_NE(out->out.find("SigIgn:\t0000000000000000\n"), std::string::npos) << out->out;
}

TEST(ProcessExecChild, MissingPluginIsAClearError) {
  ProcessExec exec;
  auto out = exec.run({.path = "/nonexistent/podns-cni-plugin", .env = {}});
  ASSERT_FALSE(out) << "exit code " << out->exit_code;
  EXPECT_EQ(out.error().message(), "exec /nonexistent/podns-cni-plugin: No such file or directory");
}

}  // namespace
}  // namespace podns::cni
