// spawn() on the real kernel: plain exec, new and joined namespaces, user namespaces with id maps,
// pid namespaces, the clone fallback, the unprivileged newuidmap path, and bad input.
#include <grp.h>
#include <sys/stat.h>

#include "clone_fallback.hpp"
#include "podns/namespace.hpp"
#include "podns/spawn.hpp"
#include "podns/userns.hpp"
#include "spawn_test_util.hpp"

namespace podns {
namespace {

using test::Captured;
using test::run_capture;

IdMappings root_maps() {
  IdMappings m;
  m.uid = {{0, 1000000, 65536}};
  m.gid = {{0, 1000000, 65536}};
  return m;
}

TEST(Spawn, RunsACommandAndReturnsItsExitCode) {
  auto c = run_capture({.argv = {"sh", "-c", "echo hello; exit 3"}});
  ASSERT_OK(c);
  EXPECT_EQ(c->out, "hello\n");
  EXPECT_EQ(c->code, 3);
}

TEST(Spawn, EnvironmentAndCwd) {
  auto c = run_capture({.argv = {"/bin/sh", "-c", "echo $FOO; pwd"}, .env = std::vector<std::string>{"FOO=bar"},
                        .cwd = "/usr"});
  ASSERT_OK(c);
  EXPECT_EQ(c->out, "bar\n/usr\n");
}

TEST(Spawn, FdsAreRemappedEvenWhenTheyCollide) {
  // Pass pipe A as 4 and pipe B as 3 where B may itself be fd 4: the shuffle must not clobber.
  int a[2], b[2];
  ASSERT_EQ(::pipe2(a, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(b, O_CLOEXEC), 0);
  UniqueFd ar(a[0]), aw(a[1]), br(b[0]), bw(b[1]);
  auto child = spawn({.argv = {"sh", "-c", "echo A >&4; echo B >&3"}, .fds = {{aw.get(), 4}, {bw.get(), 3}}});
  ASSERT_OK(child);
  aw.reset();
  bw.reset();
  EXPECT_EQ(test::read_all(ar.get()), "A\n");
  EXPECT_EQ(test::read_all(br.get()), "B\n");
  EXPECT_EQ(*child->wait(), 0);
}

TEST(Spawn, ExecFailureIsAnErrorAndLeavesNoProcess) {
  auto c = spawn({.argv = {"/nonexistent/podns-prog"}});
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().sys_errno(), ENOENT);
  EXPECT_NE(c.error().message().find("exec /nonexistent/podns-prog"), std::string::npos) << c.error().message();
  auto path = spawn({.argv = {"podns-no-such-program"}});
  ASSERT_FALSE(path);
  EXPECT_EQ(path.error().sys_errno(), ENOENT);
}

TEST(Spawn, BadRequests) {
  EXPECT_TRUE(spawn({}).error().is(Errc::invalid_argument));
  auto twice = spawn({.argv = {"true"},
                      .namespaces = {{NamespaceType::net, ""}, {NamespaceType::net, ""}}});
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message().find("twice"), std::string::npos);
  auto nomaps = spawn({.argv = {"true"}, .namespaces = {{NamespaceType::user, ""}}});
  ASSERT_FALSE(nomaps);
  EXPECT_NE(nomaps.error().message().find("uid and a gid map"), std::string::npos) << nomaps.error().message();
  auto notns = spawn({.argv = {"true"}, .namespaces = {{NamespaceType::net, "/etc/passwd"}}});
  ASSERT_FALSE(notns);
  EXPECT_TRUE(notns.error().is(Errc::not_a_namespace)) << notns.error().message();
}

TEST(Spawn, UserPathThatIsNotAUserNamespace) {
  auto c = spawn({.argv = {"true"}, .namespaces = {{NamespaceType::user, "/proc/self/ns/net"}}});
  ASSERT_FALSE(c);
  EXPECT_TRUE(c.error().is(Errc::wrong_namespace_type)) << c.error().message();
}

TEST(Spawn, NewUserNamespaceIsMappedAndTheProcessIsRootInIt) {
  PODNS_REQUIRE_ROOT();
  IdMappings m;
  m.uid = {{0, 1000000, 1000}, {1000, 1010000, 1000}};
  m.gid = {{0, 1000000, 65536}};
  auto c = run_capture({.argv = {"sh", "-c", "cat /proc/self/uid_map; id -u; id -g"},
                        .namespaces = {{NamespaceType::user, ""}, {NamespaceType::net, ""}},
                        .idmaps = m});
  ASSERT_OK(c);
  EXPECT_EQ(c->code, 0);
  auto lines = c->out;
  auto maps = parse_kernel_idmap(lines.substr(0, lines.find("\n0\n") + 1));
  ASSERT_TRUE(maps.has_value()) << lines;
  EXPECT_EQ(*maps, m.uid) << lines;
  EXPECT_NE(lines.find("\n0\n0\n"), std::string::npos) << lines;
}

TEST(Spawn, ProcessInANewPidNamespaceIsPid1) {
  PODNS_REQUIRE_ROOT();
  for (bool fallback : {false, true}) {
    test::CloneFallback without_clone3(fallback);
    auto c = run_capture({.argv = {"sh", "-c", "echo $$"}, .namespaces = {{NamespaceType::pid, ""}}});
    ASSERT_OK(c);
    EXPECT_EQ(c->out, "1\n") << (fallback ? "fallback" : "clone3");
    auto u = run_capture({.argv = {"sh", "-c", "echo $$; id -u"},
                          .namespaces = {{NamespaceType::user, ""}, {NamespaceType::pid, ""}, {NamespaceType::mnt, ""}},
                          .idmaps = root_maps()});
    ASSERT_OK(u);
    EXPECT_EQ(u->out, "1\n0\n");
    EXPECT_EQ(without_clone3.asked() > 0, fallback) << without_clone3.asked();
  }
}

TEST(Spawn, SignalAndKillThroughTheHandle) {
  PODNS_REQUIRE_ROOT();
  auto child = spawn({.argv = {"sleep", "100"}, .namespaces = {{NamespaceType::pid, ""}}});
  ASSERT_OK(child);
  EXPECT_TRUE(*child->alive());
  ASSERT_OK(child->signal(SIGKILL));
  EXPECT_EQ(*child->wait(), 128 + SIGKILL);
}

TEST(Spawn, JoinsPinnedNamespacesByPath) {
  PODNS_REQUIRE_ROOT();
  test::TempDir dir("spawn");
  Paths paths = Paths::under(dir / "run", dir / "state");
  std::string name = test::unique_name("sp");
  test::PinGuard guard(paths, name);
  std::vector<NamespaceType> types{NamespaceType::net, NamespaceType::uts};
  auto pins = create_pinned(paths, types, name);
  ASSERT_OK(pins);
  auto c = run_capture({.argv = {"sh", "-c", "readlink /proc/self/ns/net /proc/self/ns/uts"},
                        .namespaces = {{NamespaceType::net, (*pins)[0].path}, {NamespaceType::uts, (*pins)[1].path}}});
  ASSERT_OK(c);
  EXPECT_EQ(c->out, test::ns_link_text("net", (*pins)[0].id) + "\n" + test::ns_link_text("uts", (*pins)[1].id) + "\n");
}

TEST(Spawn, JoinsAUserNamespaceSetUserFirst) {
  PODNS_REQUIRE_ROOT();
  test::TempDir dir("spawn");
  Paths paths = Paths::under(dir / "run", dir / "state");
  std::string name = test::unique_name("sp");
  test::PinGuard guard(paths, name);
  auto set = create_userns_set({.paths = paths, .name = name,
                                .types = {NamespaceType::user, NamespaceType::net, NamespaceType::uts},
                                .idmaps = root_maps()});
  ASSERT_OK(set);
  std::vector<NamespaceRequest> join;
  for (const auto& p : set->pins) join.push_back({p.type, p.path});
  EXPECT_TRUE(namespace_ownership_warnings(join).empty());
  // Joined user + net + uts, and a new pid namespace created inside the joined user namespace.
  join.push_back({NamespaceType::pid, ""});
  auto c = run_capture({.argv = {"sh", "-c", "readlink /proc/self/ns/net; id -u; echo $$"}, .namespaces = join});
  ASSERT_OK(c);
  EXPECT_EQ(c->out, test::ns_link_text("net", set->find(NamespaceType::net)->id) + "\n0\n1\n");
}

TEST(Spawn, WarnsAboutANetnsNotOwnedByTheUserNamespace) {
  PODNS_REQUIRE_ROOT();
  test::TempDir dir("spawn");
  Paths paths = Paths::under(dir / "run", dir / "state");
  std::string name = test::unique_name("sp");
  std::string host = test::unique_name("sh");
  test::PinGuard guard(paths, name), guard2(paths, host);
  auto set = create_userns_set({.paths = paths, .name = name, .types = {NamespaceType::user, NamespaceType::net},
                                .idmaps = root_maps()});
  ASSERT_OK(set);
  auto hostnet = create_pinned(paths, NamespaceType::net, host);
  ASSERT_OK(hostnet);
  auto w = namespace_ownership_warnings(
      {{NamespaceType::user, set->find(NamespaceType::user)->path}, {NamespaceType::net, hostnet->path}});
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("not owned by user namespace"), std::string::npos) << w[0];
  auto fresh = namespace_ownership_warnings({{NamespaceType::user, ""}, {NamespaceType::net, hostnet->path}});
  ASSERT_EQ(fresh.size(), 1u);
  // And really: a process in a new user namespace cannot join the host-owned netns. Here both are
  // our own making, so the join happens first and works; inside the set's userns it must fail.
  auto c = spawn({.argv = {"true"},
                  .namespaces = {{NamespaceType::user, set->find(NamespaceType::user)->path},
                                 {NamespaceType::net, hostnet->path}}});
  // Root joins the host-owned netns in the first pass (before the user namespace), so this works:
  // the two-pass order is what makes it work.
  ASSERT_OK(c);
  EXPECT_EQ(*c->wait(), 0);
}

TEST(Spawn, UnprivilegedNewUserNamespaceGoesThroughNewuidmap) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TEST_USER();
  PODNS_REQUIRE_TOOL("newuidmap", "uidmap");
  std::string report = test::as_test_user([] {
    IdMappings m;
    m.uid = {{0, 2000000, 65536}};
    m.gid = {{0, 2000000, 65536}};
    auto c = run_capture({.argv = {"sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u"},
                          .namespaces = {{NamespaceType::user, ""}, {NamespaceType::net, ""}},
                          .idmaps = m});
    if (!c) return "spawn failed: " + c.error().message();
    auto want = "0 2000000 65536";
    auto maps = parse_kernel_idmap(c->out.substr(0, c->out.rfind('\n', c->out.size() - 2) + 1));
    if (!maps || maps->size() != 2 || (*maps)[0] != IdMapRange{0, 2000000, 65536} ||
        (*maps)[1] != IdMapRange{0, 2000000, 65536})
      return std::string("unexpected maps (want ") + want + "): " + c->out;
    if (c->out.substr(c->out.size() - 2) != "0\n") return "not uid 0 inside: " + c->out;
    return std::string();
  });
  EXPECT_EQ(report, "");
}

TEST(Spawn, UnprivilegedRangeNotYoursIsRefused) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TEST_USER();
  std::string report = test::as_test_user([] {
    IdMappings m;
    m.uid = {{0, 1000000, 65536}};  // root's range, not podns-test's
    m.gid = {{0, 2000000, 65536}};
    auto c = spawn({.argv = {"true"}, .namespaces = {{NamespaceType::user, ""}}, .idmaps = m});
    if (c) return std::string("spawned with a range that is not ours");
    return c.error().message();
  });
  EXPECT_NE(report.find("host ids 1000000-1065535 are not yours to map"), std::string::npos) << report;
}

TEST(Spawn, UnprivilegedJoinOfAForeignUserNamespaceFailsClearly) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TEST_USER();
  test::TempDir dir("spawn");
  Paths paths = Paths::under(dir / "run", dir / "state");
  std::string name = test::unique_name("sp");
  test::PinGuard guard(paths, name);
  auto set = create_userns_set({.paths = paths, .name = name, .types = {NamespaceType::user, NamespaceType::net},
                                .idmaps = root_maps()});
  ASSERT_OK(set);
  ::chmod(dir.path().c_str(), 0755);
  std::string user_pin = set->find(NamespaceType::user)->path;
  std::string report = test::as_test_user([&] {
    auto c = spawn({.argv = {"true"}, .namespaces = {{NamespaceType::user, user_pin}}});
    if (c) return std::string("joined a user namespace owned by root");
    return c.error().message();
  });
  EXPECT_NE(report.find("join user namespace"), std::string::npos) << report;
  EXPECT_NE(report.find("Operation not permitted"), std::string::npos) << report;
}

}  // namespace
}  // namespace podns
