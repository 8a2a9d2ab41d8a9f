// The unprivileged test user `podns-test` (scripts/test-setup.sh makes it, with /etc/subuid and
// /etc/subgid ranges): become it in a forked child for one function, or run a scenario of this
// test binary again as that user, the way a real rootless caller would start podns.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace podns::test {

inline constexpr const char* kTestUser = "podns-test";

struct TestUser {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
  bool found = false;
};
TestUser podns_test_user();

#define PODNS_REQUIRE_TEST_USER()                                                                    \
  do {                                                                                               \
    if (!::podns::test::podns_test_user().found)                                                     \
      GTEST_SKIP() << "user podns-test missing (run scripts/test-setup.sh as root)";                 \
  } while (0)

// Fork, become podns-test (no supplementary groups), run `fn`, which returns a report line ("" on
// success); the report comes back to the caller. The forked child is reaped before returning.
std::string as_test_user(const std::function<std::string()>& fn);

// Re-running a scenario as podns-test: the outer test (root, under ctest) starts this binary
// again through runuser with `inner_flag`=1 in its environment and --gtest_filter=`filter`; the
// inner scenario runs only when it sees that flag as a non-root user (`is_inner_run`) and skips
// otherwise. The inner run gets a private XDG_RUNTIME_DIR (and XDG_DATA_HOME when asked), both
// owned by the user, mode 0700.
struct RerunAsTestUser {
  std::string filter;
  const char* inner_flag = nullptr;
  bool private_data_home = false;
  std::vector<std::string> extra_env;  // "K=V"
};

// Whether this process is the inner run that `inner_flag` marks.
bool is_inner_run(const char* inner_flag);

// Runs the scenario and expects it ran and passed (not skipped); then `after` checks what the run
// left in its XDG_RUNTIME_DIR before that directory goes. Skips the calling test (returns without
// running) when runuser, the user or a /dev/net/tun usable by other users is missing.
void rerun_as_test_user(const RerunAsTestUser& how, const std::function<void(const std::string& xdg)>& after);

}  // namespace podns::test
