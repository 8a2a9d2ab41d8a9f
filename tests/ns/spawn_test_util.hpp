// Helpers for the spawn and userns tests: run a SpawnRequest with stdout captured, a pin-set guard,
// and running a function as the unprivileged test user in a forked child.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "podns/pin.hpp"
#include "podns/spawn.hpp"
#include "test_support.hpp"

namespace podns::test {

struct Captured {
  int code = -1;
  std::string out;
};

inline std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

inline Result<Captured> run_capture(SpawnRequest req) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return fail_errno("pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  req.fds.push_back({wr.get(), 1});
  auto child = spawn(req);
  wr.reset();
  if (!child) return fail(child.error());
  Captured c;
  c.out = read_all(rd.get());
  auto code = child->wait();
  if (!code) return fail(code.error());
  c.code = *code;
  return c;
}

// Removes every pin named `name` below `paths` when the test ends, pass or fail.
class PinGuard {
 public:
  PinGuard(Paths paths, std::string name) : paths_(std::move(paths)), name_(std::move(name)) {}
  ~PinGuard() { (void)remove_pinned(paths_, name_); }

 private:
  Paths paths_;
  std::string name_;
};

// A test that pins under a private run/state dir, one name, removed when the test ends (root
// only: pins are bind mounts).
class PinnedNameTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (pins are bind mounts)";
  }
  TempDir dir_{"pins"};
  Paths paths_ = Paths::under(dir_ / "run", dir_ / "state");
  std::string name_ = unique_name("pn");
  PinGuard guard_{paths_, name_};
};

// The same map for uids and gids ("0:1000000:65536").
inline IdMappings maps_of(const char* text) {
  IdMappings m;
  m.uid = *parse_idmap(text);
  m.gid = m.uid;
  return m;
}

// "net:[4026532000]" for a pin, the way readlink /proc/PID/ns/net prints it.
inline std::string ns_link_text(const std::string& type, const NamespaceId& id) {
  return type + ":[" + std::to_string(id.ino) + "]";
}

struct TestUser {
  uid_t uid = 0;
  gid_t gid = 0;
  bool found = false;
};
inline TestUser podns_test_user() {
  TestUser u;
  if (passwd* pw = ::getpwnam("podns-test")) u = {pw->pw_uid, pw->pw_gid, true};
  return u;
}

#define PODNS_REQUIRE_TEST_USER()                                                                    \
  do {                                                                                               \
    if (!::podns::test::podns_test_user().found)                                                     \
      GTEST_SKIP() << "user podns-test missing (run scripts/test-setup.sh as root)";                 \
  } while (0)

// Fork, become podns-test (no supplementary groups), run `fn`, which returns a report line ("" on
// success); the report comes back to the caller. The forked child is reaped before returning.
inline std::string as_test_user(const std::function<std::string()>& fn) {
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

}  // namespace podns::test
