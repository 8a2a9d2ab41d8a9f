#include "test_user.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>

#include "test_support.hpp"

namespace podns::test {
namespace fs = std::filesystem;

TestUser podns_test_user() {
  TestUser u;
  if (passwd* pw = ::getpwnam(kTestUser)) u = {pw->pw_uid, pw->pw_gid, pw->pw_dir ? pw->pw_dir : "/", true};
  return u;
}

std::string as_test_user(const std::function<std::string()>& fn) {
  TestUser u = podns_test_user();
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    std::string report;
    if (::setgroups(0, nullptr) < 0 || ::setresgid(u.gid, u.gid, u.gid) < 0 || ::setresuid(u.uid, u.uid, u.uid) < 0)
      report = "cannot become podns-test";
    else
      report = fn();
    (void)!::write(p[1], report.data(), report.size());
    ::_exit(0);
  }
  ::close(p[1]);
  std::string report = read_all(p[0]);
  ::close(p[0]);
  int status;
  ::waitpid(pid, &status, 0);
  return report;
}

bool is_inner_run(const char* inner_flag) {
  const char* v = std::getenv(inner_flag);
  return v && std::string(v) == "1" && ::geteuid() != 0;
}

void rerun_as_test_user(const RerunAsTestUser& how, const std::function<void(const std::string& xdg)>& after) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("runuser", "util-linux");
  TestUser u = podns_test_user();
  if (!u.found) GTEST_SKIP() << "no user " << kTestUser << " (run scripts/test-setup.sh as root)";
  struct stat tun;
  if (::stat("/dev/net/tun", &tun) != 0 || (tun.st_mode & 0006) != 0006)
    GTEST_SKIP() << "/dev/net/tun is not usable by other users (run scripts/test-setup.sh)";
  TempDir xdg("xdg");
  std::optional<TempDir> data;
  if (how.private_data_home) data.emplace("data");
  for (const TempDir* d : {&xdg, data ? &*data : nullptr}) {
    if (!d) continue;
    ASSERT_EQ(::chown(d->path().c_str(), u.uid, u.gid), 0);
    ASSERT_EQ(::chmod(d->path().c_str(), 0700), 0);
  }
  std::error_code ec;
  std::vector<std::string> argv = {"runuser", "-u", kTestUser, "--", "env", "XDG_RUNTIME_DIR=" + xdg.path(),
                                   std::string(how.inner_flag) + "=1", "HOME=" + u.home};
  if (data) argv.push_back("XDG_DATA_HOME=" + data->path());
  argv.insert(argv.end(), how.extra_env.begin(), how.extra_env.end());
  argv.push_back(fs::read_symlink("/proc/self/exe", ec).string());
  argv.push_back("--gtest_filter=" + how.filter);
  auto r = run(argv);
  std::string all = r.out + r.err;
  EXPECT_EQ(r.exit_code, 0) << all;
  EXPECT_NE(all.find("[  PASSED  ] 1 test"), std::string::npos) << all;
  EXPECT_EQ(all.find("SKIPPED"), std::string::npos) << all;
  after(xdg.path());
}

}  // namespace podns::test
