// Environment failures come back as errors with context, never as crashes or prints.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>
#include <string>

#include "fw_test_util.hpp"
#include "podns/fw/firewall.hpp"

namespace podns::fw {
namespace {

// Without CAP_NET_ADMIN nf_tables answers EPERM to everything: sync (libnftables), update (the
// libnftnl batch) and installed (dumps) each say so. Run in a child that gave up root. (sync asks
// the kernel first: libnftables 1.0.6 would print "(you must be root)" on stderr itself.)
TEST(Errors, WithoutCapNetAdminEveryCallIsEperm) {
  PODNS_REQUIRE_ROOT();
  test::TableGuard t;
  int pipefd[2];
  ASSERT_EQ(::pipe2(pipefd, O_CLOEXEC), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(pipefd[0]);
    std::string report;
    if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) ::_exit(2);
    auto fw = Firewall::open(t.name());
    if (!fw) {
      report = "open: " + fw.error().message();
    } else {
      auto s = fw->sync(test::sample_ruleset("0"));
      report += std::to_string(s ? 0 : s.error().sys_errno()) + "|" + (s ? "" : s.error().message()) + "\n";
      auto u = fw->update(test::sample_forwards(), {});
      report += std::to_string(u ? 0 : u.error().sys_errno()) + "|" + (u ? "" : u.error().message()) + "\n";
      auto i = fw->installed();
      report += std::to_string(i ? 0 : i.error().sys_errno()) + "|" + (i ? "" : i.error().message()) + "\n";
    }
    if (::write(pipefd[1], report.data(), report.size()) < 0) ::_exit(3);
    ::_exit(0);
  }
  ::close(pipefd[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(pipefd[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  ::close(pipefd[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  SCOPED_TRACE(out);
  std::string eperm = std::to_string(EPERM) + "|";
  std::istringstream lines(out);
  std::string sync, update, installed;
  std::getline(lines, sync);
  std::getline(lines, update);
  std::getline(lines, installed);
  EXPECT_EQ(sync.rfind(eperm + "sync table inet " + t.name() + ": ", 0), 0u);
  EXPECT_EQ(update.rfind(eperm + "update forwards in table inet " + t.name() + ": ", 0), 0u);
  EXPECT_EQ(installed.rfind(eperm + "read table inet " + t.name() + ": ", 0), 0u);
  EXPECT_NE(out.find("CAP_NET_ADMIN"), std::string::npos);
  EXPECT_FALSE(test::table_exists(t.name()));
}

}  // namespace
}  // namespace podns::fw
