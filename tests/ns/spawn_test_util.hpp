// Helpers for the spawn and userns tests: run a SpawnRequest with stdout captured and a pin-set
// guard (the unprivileged test user is test_user.hpp's).
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "podns/pin.hpp"
#include "podns/spawn.hpp"
#include "test_support.hpp"
#include "test_user.hpp"

namespace podns::test {

struct Captured {
  int code = -1;
  std::string out;
};

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

}  // namespace podns::test
