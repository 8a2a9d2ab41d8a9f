// Out of threads: std::thread throws std::system_error (EAGAIN) when clone fails; the no-throw
// API must turn that into an error value instead of letting it escape.
#include <grp.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "podns/namespace.hpp"
#include "podns/run_in_ns.hpp"
#include "test_support.hpp"

namespace podns {
namespace {

// A child that cannot start a thread: RLIMIT_NPROC 0 under a non-root uid. Root's processes are
// exempt from the limit (the kernel skips it for the initial user and for CAP_SYS_RESOURCE and
// CAP_SYS_ADMIN), so the child drops to nobody after opening what it needs. Entering a mount
// namespace always takes a thread of its own (run_in_ns.cpp), and the thread is started before
// setns, so the failure is the thread's, not a missing privilege's.
TEST(ThreadLimit, RunInMountNamespaceReportsEagain) {
  PODNS_REQUIRE_ROOT();
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto ns = Namespace::open_current(NamespaceType::mnt);
    if (!ns) ::_exit(10);
    struct rlimit none {0, 0};
    if (::setrlimit(RLIMIT_NPROC, &none) < 0) ::_exit(11);
    if (::setgroups(0, nullptr) < 0 || ::setresgid(65534, 65534, 65534) < 0 || ::setresuid(65534, 65534, 65534) < 0)
      ::_exit(12);
    bool ran = false;
    Status st;
    try {
      st = run_in_namespace(*ns, [&] { ran = true; });
    } catch (...) {
      ::_exit(20);  // an exception escaped the no-throw API (std::system_error before the fix)
    }
    if (st || ran) ::_exit(13);
    if (st.error().sys_errno() != EAGAIN) ::_exit(14);
    if (st.error().message().find("start a thread") == std::string::npos) ::_exit(15);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "child killed by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "see the _exit codes in the child";
}

}  // namespace
}  // namespace podns
