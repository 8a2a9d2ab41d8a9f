// create_userns_set and friends on the real kernel: ownership, maps read back, sysctls inside, the
// clone fallback, auto ranges, owner pinning, and every failure leaving nothing behind.
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "clone_fallback.hpp"
#include "podns/namespace.hpp"
#include "podns/process.hpp"
#include "podns/userns.hpp"
#include "spawn_test_util.hpp"

namespace podns {
namespace {

using test::maps_of;

class UsernsSet : public test::PinnedNameTest {
 protected:
  bool pin_file_exists(NamespaceType t) const { return std::filesystem::exists(pin_path(paths_, t, name_)); }
};

TEST_F(UsernsSet, PinsAUserNamespaceAndNamespacesItOwns) {
  std::vector<NamespaceType> types{NamespaceType::net, NamespaceType::user, NamespaceType::ipc, NamespaceType::uts,
                                   NamespaceType::mnt, NamespaceType::cgroup, NamespaceType::time,
                                   NamespaceType::pid};
  auto set = create_userns_set({.paths = paths_, .name = name_, .types = types,
                                .idmaps = maps_of("0:1000000:1000,1000:1010000:64536")});
  ASSERT_OK(set);
  ASSERT_EQ(set->pins.size(), types.size());
  EXPECT_EQ(set->pins[0].type, NamespaceType::user);
  auto user = Namespace::open_path(set->find(NamespaceType::user)->path, NamespaceType::user);
  ASSERT_OK(user);
  for (const auto& p : set->pins) {
    auto ns = Namespace::open_path(p.path, p.type);
    ASSERT_OK(ns);
    EXPECT_EQ(ns->id(), p.id);
    if (p.type == NamespaceType::user) continue;
    auto owner = ns->owner_userns();
    ASSERT_OK(owner);
    EXPECT_TRUE(*owner == *user) << to_string(p.type) << " is not owned by the set's user namespace";
  }
  // The user namespace's parent is ours.
  auto parent = user->parent();
  ASSERT_OK(parent);
  EXPECT_TRUE(*parent == *Namespace::open_current(NamespaceType::user));
  auto maps = read_userns_idmappings(*user);
  ASSERT_OK(maps);
  EXPECT_EQ(maps->uid, (IdMap{{0, 1000000, 1000}, {1000, 1010000, 64536}}));
  EXPECT_EQ(maps->gid, maps->uid);
  EXPECT_EQ(maps->setgroups, SetGroups::allow);
  auto found = find_pinned_set(paths_, name_);
  ASSERT_OK(found);
  EXPECT_EQ(found->pins.size(), types.size());
}

TEST_F(UsernsSet, PidNamespaceIsJoinableAndItsInitGoesWithThePin) {
  auto set = create_userns_set({.paths = paths_, .name = name_,
                                .types = {NamespaceType::user, NamespaceType::pid, NamespaceType::mnt},
                                .idmaps = maps_of("0:1000000:65536")});
  ASSERT_OK(set);
  const PinnedNamespace* pid = set->find(NamespaceType::pid);
  ASSERT_NE(pid, nullptr);
  auto ns = Namespace::open_path(pid->path, NamespaceType::pid);
  ASSERT_OK(ns);
  EXPECT_TRUE(*ns->owner_userns() == *Namespace::open_path(set->pins[0].path, NamespaceType::user));
  std::vector<NamespaceRequest> join;
  for (const auto& p : set->pins) join.push_back({p.type, p.path});
  auto c = test::run_capture({.argv = {"sh", "-c", "readlink /proc/self/ns/pid; echo $$"}, .namespaces = join});
  ASSERT_OK(c);
  EXPECT_EQ(c->out.substr(0, c->out.find('\n')), test::ns_link_text("pid", pid->id));
  EXPECT_NE(c->out.substr(c->out.find('\n') + 1), "1\n");  // pid 1 is the namespace's init
  auto pids = pids_in(NamespaceType::pid, pid->id);
  ASSERT_OK(pids);
  ASSERT_EQ(pids->size(), 1u);  // just the init
  auto holder = pidfd_open(pids->front());
  ASSERT_OK(holder);
  ASSERT_OK(remove_pinned(paths_, name_));
  // The init goes with the pin (it is reaped by whoever inherited it, not by us).
  pollfd p{holder->get(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 5000), 1);
}

TEST_F(UsernsSet, SetgroupsDenyIsKept) {
  IdMappings m = maps_of("0:1000000:65536");
  m.setgroups = SetGroups::deny;
  auto set = create_userns_set({.paths = paths_, .name = name_, .types = {NamespaceType::user}, .idmaps = m});
  ASSERT_OK(set);
  auto user = Namespace::open_path(set->pins[0].path, NamespaceType::user);
  ASSERT_OK(user);
  EXPECT_EQ(read_userns_idmappings(*user)->setgroups, SetGroups::deny);
}

TEST_F(UsernsSet, WorksThroughTheCloneFallback) {
  test::CloneFallback without_clone3;
  auto set = create_userns_set({.paths = paths_, .name = name_, .types = {NamespaceType::user, NamespaceType::net},
                                .idmaps = maps_of("0:1000000:65536")});
  ASSERT_OK(set);
  EXPECT_EQ(set->pins.size(), 2u);
  EXPECT_GT(without_clone3.asked(), 0);
}

TEST_F(UsernsSet, SysctlsAreWrittenInsideTheNewNamespaces) {
  std::ifstream host_in("/proc/sys/net/ipv4/ip_forward");
  std::string host_before;
  host_in >> host_before;
  auto set = create_userns_set({.paths = paths_, .name = name_,
                                .types = {NamespaceType::user, NamespaceType::net, NamespaceType::uts},
                                .idmaps = maps_of("0:1000000:65536"),
                                .sysctls = {{"net.ipv4.ip_forward", "1"}, {"kernel.hostname", "podns-sysctl"},
                                            {"net/ipv4/conf/lo/forwarding", "1"}}});
  ASSERT_OK(set);
  auto c = test::run_capture({.argv = {"sh", "-c",
                                       "cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/conf/lo/forwarding; "
                                       "hostname"},
                              .namespaces = {{NamespaceType::user, set->find(NamespaceType::user)->path},
                                             {NamespaceType::net, set->find(NamespaceType::net)->path},
                                             {NamespaceType::uts, set->find(NamespaceType::uts)->path}}});
  ASSERT_OK(c);
  EXPECT_EQ(c->out, "1\n1\npodns-sysctl\n");
  std::ifstream host_after_in("/proc/sys/net/ipv4/ip_forward");
  std::string host_after;
  host_after_in >> host_after;
  EXPECT_EQ(host_before, host_after);
}

TEST_F(UsernsSet, SysctlOutsideTheSetIsRefused) {
  auto net = create_userns_set({.paths = paths_, .name = name_, .types = {NamespaceType::user, NamespaceType::uts},
                                .idmaps = maps_of("0:1000000:65536"), .sysctls = {{"net.ipv4.ip_forward", "1"}}});
  ASSERT_FALSE(net);
  EXPECT_NE(net.error().message().find("needs a new net namespace"), std::string::npos) << net.error().message();
  auto host = create_userns_set({.paths = paths_, .name = name_, .types = {NamespaceType::user, NamespaceType::net},
                                 .idmaps = maps_of("0:1000000:65536"), .sysctls = {{"kernel.panic", "1"}}});
  ASSERT_FALSE(host);
  EXPECT_NE(host.error().message().find("not a namespaced sysctl"), std::string::npos);
  EXPECT_FALSE(pin_file_exists(NamespaceType::user));
  EXPECT_FALSE(pin_file_exists(NamespaceType::net));
}

TEST_F(UsernsSet, AFailingSysctlLeavesNothing) {
  auto set = create_userns_set({.paths = paths_, .name = name_, .types = {NamespaceType::user, NamespaceType::net},
                                .idmaps = maps_of("0:1000000:65536"),
                                .sysctls = {{"net.ipv4.no_such_sysctl", "1"}}});
  ASSERT_FALSE(set);
  EXPECT_NE(set.error().message().find("set sysctl net.ipv4.no_such_sysctl=1"), std::string::npos)
      << set.error().message();
  EXPECT_FALSE(pin_file_exists(NamespaceType::user));
  EXPECT_FALSE(pin_file_exists(NamespaceType::net));
}

TEST_F(UsernsSet, HelperDyingMidSetupLeavesNothing) {
  // At the point where the helper has reported ready and nothing is pinned yet, kill it: it is
  // this thread's only child.
  std::atomic<int> killed{0};
  sys::fault::Scoped kill_helper([&](std::string_view point) {
    if (point != "userns.helper-ready") return sys::fault::Decision{};
    std::ifstream children("/proc/thread-self/children");
    pid_t helper = 0;
    children >> helper;
    if (helper <= 0) return sys::fault::Decision{};
    ::kill(helper, SIGKILL);
    ++killed;
    // Let it die before we go on (it stays a zombie until reaped).
    for (int i = 0; i < 200; ++i) {
      std::ifstream st("/proc/" + std::to_string(helper) + "/stat");
      std::string s;
      std::getline(st, s);
      if (s.find(") Z") != std::string::npos) break;
      ::usleep(5000);
    }
    return sys::fault::Decision{};
  });
  auto set = create_userns_set({.paths = paths_, .name = name_, .types = {NamespaceType::user, NamespaceType::net},
                                .idmaps = maps_of("0:1000000:65536")});
  ASSERT_EQ(killed.load(), 1);
  ASSERT_FALSE(set);
  EXPECT_TRUE(set.error().is(Errc::process_exited)) << set.error().message();
  EXPECT_FALSE(pin_file_exists(NamespaceType::user));
  EXPECT_FALSE(pin_file_exists(NamespaceType::net));
}

TEST_F(UsernsSet, ExistingPinIsRefusedAndKept) {
  auto first = create_userns_set({.paths = paths_, .name = name_, .types = {NamespaceType::user, NamespaceType::net},
                                  .idmaps = maps_of("0:1000000:65536")});
  ASSERT_OK(first);
  auto second = create_userns_set({.paths = paths_, .name = name_, .types = {NamespaceType::user, NamespaceType::net},
                                   .idmaps = maps_of("0:1000000:65536")});
  ASSERT_FALSE(second);
  EXPECT_TRUE(second.error().is(Errc::already_exists)) << second.error().message();
  auto still = Namespace::open_path(first->pins[1].path, NamespaceType::net);
  ASSERT_OK(still);
  EXPECT_EQ(still->id(), first->pins[1].id);
}

TEST_F(UsernsSet, BadRequestsAreRefusedBeforeAnything) {
  struct Case {
    std::vector<NamespaceType> types;
    IdMappings maps;
    const char* want;
  } cases[] = {
      {{NamespaceType::net}, maps_of("0:1000000:10"), "needs --type user"},
      {{NamespaceType::user}, IdMappings{}, "needs a uid map and a gid map"},
      {{NamespaceType::user, NamespaceType::user}, maps_of("0:1000000:10"), "given twice"},
      {{NamespaceType::user}, IdMappings{{{0, 1000000, 10}, {5, 2000000, 10}}, {{0, 1000000, 10}}}, "overlap"},
  };
  for (const auto& c : cases) {
    auto set = create_userns_set({.paths = paths_, .name = name_, .types = c.types, .idmaps = c.maps});
    ASSERT_FALSE(set) << c.want;
    EXPECT_NE(set.error().message().find(c.want), std::string::npos) << set.error().message();
  }
  auto badname = create_userns_set({.paths = paths_, .name = "../x", .types = {NamespaceType::user},
                                    .idmaps = maps_of("0:1000000:10")});
  ASSERT_FALSE(badname);
  EXPECT_TRUE(badname.error().is(Errc::invalid_name));
  EXPECT_FALSE(pin_file_exists(NamespaceType::user));
}

TEST_F(UsernsSet, UnprivilegedCallerCannotPinAndLeavesNothing) {
  PODNS_REQUIRE_TEST_USER();
  PODNS_REQUIRE_TOOL("newuidmap", "uidmap");
  test::TestUser u = test::podns_test_user();
  ASSERT_EQ(::chown(dir_.path().c_str(), u.uid, u.gid), 0);
  std::string report = test::as_test_user([&] {
    auto set = create_userns_set({.paths = paths_, .name = name_, .types = {NamespaceType::user, NamespaceType::net},
                                  .idmaps = maps_of("0:2000000:65536")});
    if (set) return std::string("pinned without privileges?");
    return set.error().message();
  });
  EXPECT_NE(report.find("Operation not permitted"), std::string::npos) << report;
  EXPECT_FALSE(pin_file_exists(NamespaceType::user));
  EXPECT_FALSE(pin_file_exists(NamespaceType::net));
}

TEST_F(UsernsSet, OwnerOfANetnsCanBePinned) {
  auto set = create_userns_set({.paths = paths_, .name = name_, .types = {NamespaceType::user, NamespaceType::net},
                                .idmaps = maps_of("0:1000000:65536")});
  ASSERT_OK(set);
  std::string owner_name = test::unique_name("ow");
  test::PinGuard og(paths_, owner_name);
  auto pin = pin_owning_userns(paths_, set->find(NamespaceType::net)->path, owner_name);
  ASSERT_OK(pin);
  EXPECT_EQ(pin->id, set->find(NamespaceType::user)->id);
  // A netns made outside any user namespace is owned by ours.
  std::string host = test::unique_name("ho");
  test::PinGuard hg(paths_, host);
  auto hostnet = create_pinned(paths_, NamespaceType::net, host);
  ASSERT_OK(hostnet);
  auto owner = owning_userns(hostnet->path);
  ASSERT_OK(owner);
  EXPECT_TRUE(*owner == *Namespace::open_current(NamespaceType::user));
  // Not a namespace at all.
  auto bad = owning_userns("/etc/passwd");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(Errc::not_a_namespace));
}

TEST_F(UsernsSet, ReadingMapsOfANonUserNamespaceIsRefused) {
  auto net = Namespace::open_current(NamespaceType::net);
  ASSERT_OK(net);
  auto maps = read_userns_idmappings(*net);
  ASSERT_FALSE(maps);
  EXPECT_TRUE(maps.error().is(Errc::wrong_namespace_type));
}

// The pins' half of `auto` (pod::reserve_auto_idmappings adds the state's half and the lock).
TEST_F(UsernsSet, PinnedMapsAreReadBackForAutoRanges) {
  for (const char* f : {"subuid", "subgid"}) {
    std::ofstream(dir_ / f) << "root:3000000:131072\n";
  }
  SubidFiles files{dir_ / "subuid", dir_ / "subgid"};
  auto none = pinned_userns_idmappings(paths_);
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  auto first_maps = auto_idmappings(65536, {}, {}, files);
  ASSERT_OK(first_maps);
  EXPECT_EQ(first_maps->uid, (IdMap{{0, 3000000, 65536}}));
  auto first = create_userns_set({.paths = paths_, .name = name_, .types = {NamespaceType::user}, .idmaps = *first_maps});
  ASSERT_OK(first);
  auto pinned = pinned_userns_idmappings(paths_);
  ASSERT_OK(pinned);
  ASSERT_EQ(pinned->size(), 1u);
  EXPECT_EQ((*pinned)[0].uid, first_maps->uid);
  auto second_maps = auto_idmappings(65536, (*pinned)[0].uid, (*pinned)[0].gid, files);
  ASSERT_OK(second_maps);
  EXPECT_EQ(second_maps->uid, (IdMap{{0, 3065536, 65536}}));
  EXPECT_EQ(second_maps->gid, (IdMap{{0, 3065536, 65536}}));
  // A pin whose maps the caller already knows is not read again.
  std::string known[] = {first->find(NamespaceType::user)->path};
  auto skipped = pinned_userns_idmappings(paths_, known);
  ASSERT_OK(skipped);
  EXPECT_TRUE(skipped->empty());
}

TEST(Sysctl, ParseAndClassify) {
  auto s = parse_sysctl("net.ipv4.ip_forward=1");
  ASSERT_OK(s);
  EXPECT_EQ(s->key, "net.ipv4.ip_forward");
  EXPECT_EQ(s->value, "1");
  EXPECT_EQ(*sysctl_namespace("kernel.hostname"), NamespaceType::uts);
  EXPECT_EQ(*sysctl_namespace("kernel.shmmax"), NamespaceType::ipc);
  EXPECT_EQ(*sysctl_namespace("fs.mqueue.msg_max"), NamespaceType::ipc);
  EXPECT_EQ(*sysctl_namespace("net/ipv4/conf/eth0.1/forwarding"), NamespaceType::net);
  for (const char* bad : {"=1", "net.ipv4.ip_forward", "kernel.panic=1", "vm.swappiness=1", "net..x=1",
                          "net/../kernel/panic=1", "/net/x=1"}) {
    auto r = parse_sysctl(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_TRUE(r.error().is(Errc::invalid_argument)) << bad;
  }
}

}  // namespace
}  // namespace podns

namespace podns {
namespace {

TEST(Sysctl, WrittenIntoPinnedNamespacesWithoutAUserNamespace) {
  PODNS_REQUIRE_ROOT();
  test::TempDir dir("sysctl");
  Paths paths = Paths::under(dir / "run", dir / "state");
  std::string name = test::unique_name("sc");
  test::PinGuard guard(paths, name);
  std::vector<NamespaceType> types{NamespaceType::net, NamespaceType::uts};
  auto pins = create_pinned(paths, types, name);
  ASSERT_OK(pins);
  ASSERT_OK(write_sysctls(*pins, {{"net.ipv4.ip_forward", "1"}, {"kernel.hostname", "podns-sc"}}));
  auto c = test::run_capture({.argv = {"sh", "-c", "cat /proc/sys/net/ipv4/ip_forward; hostname"},
                              .namespaces = {{NamespaceType::net, (*pins)[0].path}, {NamespaceType::uts, (*pins)[1].path}}});
  ASSERT_OK(c);
  EXPECT_EQ(c->out, "1\npodns-sc\n");
  auto ipc = write_sysctls(*pins, {{"kernel.shmmax", "1000"}});
  ASSERT_FALSE(ipc);
  EXPECT_NE(ipc.error().message().find("needs a ipc namespace"), std::string::npos) << ipc.error().message();
}

TEST(Spawn, FreshSysfsShowsTheJoinedNetns) {
  PODNS_REQUIRE_ROOT();
  test::TempDir dir("sysfs");
  Paths paths = Paths::under(dir / "run", dir / "state");
  std::string name = test::unique_name("sf");
  test::PinGuard guard(paths, name);
  IdMappings m;
  m.uid = m.gid = {{0, 1000000, 65536}};
  auto set = create_userns_set({.paths = paths, .name = name, .types = {NamespaceType::user, NamespaceType::net},
                                .idmaps = m});
  ASSERT_OK(set);
  auto c = test::run_capture({.argv = {"ls", "/sys/class/net"},
                              .namespaces = {{NamespaceType::user, set->pins[0].path},
                                             {NamespaceType::net, set->pins[1].path},
                                             {NamespaceType::mnt, ""}},
                              .fresh_sysfs = true});
  ASSERT_OK(c);
  EXPECT_EQ(c->out, "lo\n");
  auto bad = spawn({.argv = {"true"}, .fresh_sysfs = true});
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(Errc::invalid_argument));
}

}  // namespace
}  // namespace podns
