// The real peer: runc runs a container whose config.json joins podns's pinned user and network
// namespaces. Inside, sysfs mounts and /sys/class/net lists the pod's interfaces. The contrast: a
// netns made outside the user namespace makes runc fail to join it, and podns warns about it.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "podns/namespace.hpp"
#include "podns/oci.hpp"
#include "podns/pin.hpp"
#include "podns/spawn.hpp"
#include "podns/userns.hpp"
#include "test_support.hpp"

namespace podns {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kBusybox = "/bin/busybox";

IdMappings test_maps() {
  IdMappings m;
  m.uid = {{0, 1000000, 65536}};
  m.gid = {{0, 1000000, 65536}};
  return m;
}

// A bundle with a read-only busybox rootfs, readable by the container's mapped root (host uid
// 1000000), which the 0700 temp dir would otherwise lock out.
class RuncBundle {
 public:
  RuncBundle() {
    ::chmod(dir_.path().c_str(), 0755);
    rootfs_ = dir_ / "bundle/rootfs";
    for (const char* d : {"bin", "proc", "sys", "dev", "tmp", "etc"}) fs::create_directories(rootfs_ + "/" + d);
    fs::copy_file(kBusybox, rootfs_ + "/bin/busybox");
    for (const char* applet : {"sh", "ls", "cat", "mount", "grep", "id"})
      fs::create_symlink("busybox", rootfs_ + "/bin/" + applet);
    for (auto& p : fs::recursive_directory_iterator(dir_.path())) ::chmod(p.path().c_str(), p.is_directory() ? 0755 : 0755);
    ::chmod((dir_ / "bundle").c_str(), 0755);
    fs::create_directories(dir_ / "state");
  }
  ~RuncBundle() {
    if (!id_.empty()) {
      test::run({"runc", "--root", dir_ / "runc", "kill", id_, "KILL"});
      test::run({"runc", "--root", dir_ / "runc", "delete", "--force", id_});
    }
  }
  Paths paths() const { return Paths::under(dir_ / "state/run", dir_ / "state/lib"); }

  // Base config: new pid, ipc, uts, mount namespaces; sysfs on /sys (what fails without an owned netns).
  json config(const std::string& script) const {
    return json{
        {"ociVersion", "1.0.2"},
        {"process",
         {{"terminal", false},
          {"user", {{"uid", 0}, {"gid", 0}}},
          {"args", {"/bin/sh", "-c", script}},
          {"env", {"PATH=/bin"}},
          {"cwd", "/"},
          {"noNewPrivileges", true}}},
        {"root", {{"path", "rootfs"}, {"readonly", true}}},
        {"hostname", "podns-runc"},
        {"mounts",
         {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
          {{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
          {{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"nosuid", "nodev"}}},
          {{"destination", "/sys"}, {"type", "sysfs"}, {"source", "sysfs"}, {"options", {"nosuid", "noexec", "nodev", "ro"}}}}},
        {"linux",
         {{"namespaces", {{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}}}}}};
  }

  test::CommandResult run(const json& config) {
    std::ofstream(dir_ / "bundle/config.json") << config.dump(2);
    id_ = test::unique_name("podns-runc-");
    auto r = test::run({"runc", "--root", dir_ / "runc", "run", "--bundle", dir_ / "bundle", id_});
    test::run({"runc", "--root", dir_ / "runc", "delete", "--force", id_});
    return r;
  }

  std::string path() const { return dir_.path(); }

 private:
  test::TempDir dir_{"runc"};
  std::string rootfs_;
  std::string id_;
};

struct PinsGuard {
  Paths paths;
  std::vector<std::string> names;
  ~PinsGuard() {
    for (const auto& n : names) (void)remove_pinned(paths, n);
  }
};

#define PODNS_REQUIRE_RUNC()                                                                    \
  do {                                                                                          \
    PODNS_REQUIRE_ROOT();                                                                       \
    PODNS_REQUIRE_TOOL("runc", "runc");                                                         \
    if (::access(kBusybox, X_OK) != 0) GTEST_SKIP() << "busybox missing (Debian busybox-static)"; \
  } while (0)

TEST(Runc, JoinsPodnsUserAndNetworkNamespacesAndMountsSysfs) {
  PODNS_REQUIRE_RUNC();
  RuncBundle bundle;
  Paths paths = bundle.paths();
  std::string name = test::unique_name("rc");
  PinsGuard guard{paths, {name}};
  auto set = create_userns_set({.paths = paths, .name = name,
                                .types = {NamespaceType::user, NamespaceType::net}, .idmaps = test_maps(),
                                .sysctls = {{"net.ipv4.ip_forward", "1"}}});
  ASSERT_OK(set);
  // Give the pod interfaces of its own (a veth pair, both ends inside), made through spawn() in the pinned netns.
  auto ip = spawn({.argv = {"ip", "link", "add", "podns0", "type", "veth", "peer", "name", "podns1"},
                   .namespaces = {{NamespaceType::net, set->find(NamespaceType::net)->path}}});
  ASSERT_OK(ip);
  ASSERT_EQ(*ip->wait(), 0);

  auto config = oci::merge_into_config(bundle.config("ls /sys/class/net; cat /proc/sys/net/ipv4/ip_forward; id -u"),
                                       *set, test_maps());
  ASSERT_OK(config);
  auto r = bundle.run(*config);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("lo"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("podns0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n1\n0\n"), std::string::npos) << r.out;  // sysctl inside; root inside
}

TEST(Runc, OciSpecFromTheCliIsWhatRuncNeeds) {
  PODNS_REQUIRE_RUNC();
  RuncBundle bundle;
  Paths paths = bundle.paths();
  std::string name = test::unique_name("rc");
  PinsGuard guard{paths, {name}};
  auto set = create_userns_set({.paths = paths, .name = name,
                                .types = {NamespaceType::user, NamespaceType::net, NamespaceType::ipc},
                                .idmaps = test_maps()});
  ASSERT_OK(set);
  std::ofstream(bundle.path() + "/base.json") << bundle.config("ls /sys/class/net").dump();
  auto cli = test::run_podns({"ns", "oci-spec", name, "--merge", bundle.path() + "/base.json"},
                             {"PODNS_RUN_DIR=" + paths.run_dir, "PODNS_STATE_DIR=" + paths.state_dir});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(cli.err, "");
  auto config = json::parse(cli.out, nullptr, false);
  ASSERT_FALSE(config.is_discarded()) << cli.out;
  auto r = bundle.run(config);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "lo\n");
}

TEST(Runc, NetnsMadeOutsideTheUserNamespaceFailsAndPodnsWarns) {
  PODNS_REQUIRE_RUNC();
  RuncBundle bundle;
  Paths paths = bundle.paths();
  std::string name = test::unique_name("rc");
  PinsGuard guard{paths, {name}};
  // The user namespace from podns, but the netns the old way: created by root outside it.
  auto user = create_userns_set({.paths = paths, .name = name, .types = {NamespaceType::user}, .idmaps = test_maps()});
  ASSERT_OK(user);
  auto net = create_pinned(paths, NamespaceType::net, name);
  ASSERT_OK(net);
  PinnedSet set = *user;
  set.pins.push_back({NamespaceType::net, name, net->path, net->id});
  auto config = oci::merge_into_config(bundle.config("ls /sys/class/net"), set, test_maps());
  ASSERT_OK(config);
  auto r = bundle.run(*config);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find("setns"), std::string::npos) << r.err;

  // podns says so before anyone runs runc.
  auto spec = oci::parse_config(*config);
  ASSERT_OK(spec);
  auto w = oci::warnings(*spec);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("not owned by user namespace"), std::string::npos) << w[0];
  auto cli = test::run_podns({"ns", "oci-spec", name},
                             {"PODNS_RUN_DIR=" + paths.run_dir, "PODNS_STATE_DIR=" + paths.state_dir});
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_NE(cli.err.find("podns: warning: net namespace"), std::string::npos) << cli.err;
}

}  // namespace
}  // namespace podns
