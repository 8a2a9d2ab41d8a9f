// OCI runtime spec namespaces and mappings: parse (good and bad input), filter, emit, merge, and
// spawning with a spec on the real kernel.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "podns/namespace.hpp"
#include "podns/oci.hpp"
#include "podns/pin.hpp"
#include "podns/process.hpp"
#include "test_support.hpp"

namespace podns {
namespace {

using nlohmann::json;

const char* kSpec = R"({
  "ociVersion": "1.0.2",
  "process": {"args": ["sh"]},
  "linux": {
    "namespaces": [
      {"type": "pid"}, {"type": "network", "path": "/run/netns/web"}, {"type": "ipc"},
      {"type": "uts"}, {"type": "mount"}, {"type": "user"}, {"type": "cgroup"}
    ],
    "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 1000},
                    {"containerID": 1000, "hostID": 200000, "size": 64536}],
    "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]
  }
})";

TEST(OciSpec, ParsesNamespacesAndMappings) {
  auto spec = oci::parse_config_text(kSpec);
  ASSERT_OK(spec);
  ASSERT_EQ(spec->namespaces.size(), 7u);
  EXPECT_EQ(spec->namespaces[1], (NamespaceRequest{NamespaceType::net, "/run/netns/web"}));
  EXPECT_EQ(spec->namespaces[4], (NamespaceRequest{NamespaceType::mnt, ""}));
  EXPECT_EQ(spec->idmaps.uid, (IdMap{{0, 100000, 1000}, {1000, 200000, 64536}}));
  EXPECT_EQ(spec->idmaps.gid, (IdMap{{0, 100000, 65536}}));
}

TEST(OciSpec, NoLinuxSectionMeansNoNamespaces) {
  auto spec = oci::parse_config_text(R"({"ociVersion": "1.0.2"})");
  ASSERT_OK(spec);
  EXPECT_TRUE(spec->namespaces.empty());
  EXPECT_TRUE(spec->idmaps.empty());
}

TEST(OciSpec, RejectsBadInput) {
  struct Case {
    const char* json;
    const char* want;
  } cases[] = {
      {"{", "config: invalid JSON"},
      {"[]", "not a JSON object"},
      {R"({"linux": {"namespaces": {}}})", "not an array"},
      {R"({"linux": {"namespaces": [{"type": "bogus"}]}})", "linux.namespaces[0]"},
      {R"({"linux": {"namespaces": [{"type": "net"}]}})", "not an OCI name (use \"network\")"},
      {R"({"linux": {"namespaces": [{"type": "ipc"}, {"type": "ipc"}]}})", "listed twice"},
      {R"({"linux": {"namespaces": [{"type": "network", "path": "run/netns/x"}]}})", "not absolute"},
      {R"({"linux": {"namespaces": [{"path": "/x"}]}})", "needs a string \"type\""},
      {R"({"linux": {"namespaces": [{"type": "network"}],
          "uidMappings": [{"containerID": 0, "hostID": 1, "size": 1}],
          "gidMappings": [{"containerID": 0, "hostID": 1, "size": 1}]}})", "without a user namespace"},
      {R"({"linux": {"namespaces": [{"type": "user"}],
          "uidMappings": [{"containerID": 0, "hostID": 1, "size": 0}],
          "gidMappings": [{"containerID": 0, "hostID": 1, "size": 1}]}})", "size 0"},
      {R"({"linux": {"namespaces": [{"type": "user"}],
          "uidMappings": [{"containerID": 0, "hostID": 100, "size": 10}, {"containerID": 5, "hostID": 500, "size": 10}],
          "gidMappings": [{"containerID": 0, "hostID": 1, "size": 1}]}})", "overlap"},
      {R"({"linux": {"namespaces": [{"type": "user"}],
          "uidMappings": [{"containerID": -1, "hostID": 1, "size": 1}],
          "gidMappings": [{"containerID": 0, "hostID": 1, "size": 1}]}})", "containerID: not a 32-bit"},
      {R"({"linux": {"namespaces": [{"type": "user"}],
          "uidMappings": [{"containerID": 0, "size": 1}],
          "gidMappings": [{"containerID": 0, "hostID": 1, "size": 1}]}})", "missing hostID"},
      {R"({"linux": {"namespaces": [{"type": "user"}],
          "uidMappings": [{"containerID": 0, "hostID": 1, "size": 1}]}})", "uid map given without a gid map"},
  };
  for (const auto& c : cases) {
    auto spec = oci::parse_config_text(c.json);
    ASSERT_FALSE(spec) << c.json;
    EXPECT_TRUE(spec.error().is(Errc::invalid_argument)) << c.json;
    EXPECT_NE(spec.error().message().find(c.want), std::string::npos) << spec.error().message();
  }
}

TEST(OciSpec, FilterKeepsMappingsOnlyWithUser) {
  auto spec = oci::parse_config_text(kSpec);
  ASSERT_OK(spec);
  std::vector<NamespaceType> net_only{NamespaceType::net};
  auto net = oci::filter(*spec, net_only);
  ASSERT_EQ(net.namespaces.size(), 1u);
  EXPECT_TRUE(net.idmaps.empty());
  std::vector<NamespaceType> user_net{NamespaceType::user, NamespaceType::net};
  auto un = oci::filter(*spec, user_net);
  EXPECT_EQ(un.namespaces.size(), 2u);
  EXPECT_EQ(un.idmaps, spec->idmaps);
}

TEST(OciSpec, EmitsAPinnedSetForARuntime) {
  PinnedSet set;
  set.name = "web";
  set.pins = {{NamespaceType::net, "web", "/run/netns/web", {}}, {NamespaceType::user, "web", "/run/podns/ns/user/web", {}}};
  IdMappings maps;
  maps.uid = {{0, 100000, 65536}};
  maps.gid = {{0, 100000, 65536}};
  json j = oci::namespaces_json(set, maps);
  EXPECT_EQ(j, json::parse(R"({"linux": {
      "namespaces": [{"type": "user", "path": "/run/podns/ns/user/web"}, {"type": "network", "path": "/run/netns/web"}],
      "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
      "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}})"));
  // And it reads back as the same thing.
  auto back = oci::parse_config(j);
  ASSERT_OK(back);
  EXPECT_EQ(back->idmaps, maps);
  EXPECT_EQ(back->namespaces[1], (NamespaceRequest{NamespaceType::net, "/run/netns/web"}));
  // Without a user namespace there are no mappings.
  PinnedSet net_only;
  net_only.pins = {set.pins[0]};
  EXPECT_FALSE(oci::namespaces_json(net_only, maps)["linux"].contains("uidMappings"));
}

TEST(OciSpec, MergeReplacesOnlyTheSetsTypes) {
  PinnedSet set;
  set.pins = {{NamespaceType::net, "web", "/run/netns/web", {}}, {NamespaceType::user, "web", "/u/web", {}}};
  IdMappings maps;
  maps.uid = maps.gid = {{0, 100000, 65536}};
  auto merged = oci::merge_into_config(json::parse(kSpec), set, maps);
  ASSERT_OK(merged);
  auto spec = oci::parse_config(*merged);
  ASSERT_OK(spec);
  EXPECT_EQ(spec->namespaces.size(), 7u);
  EXPECT_EQ(spec->idmaps, maps);
  int joined = 0;
  for (const auto& n : spec->namespaces) {
    if (n.type == NamespaceType::net) {
      EXPECT_EQ(n.path, "/run/netns/web");
    }
    if (n.type == NamespaceType::user) {
      EXPECT_EQ(n.path, "/u/web");
    }
    if (!n.path.empty()) ++joined;
  }
  EXPECT_EQ(joined, 2);
  EXPECT_EQ((*merged)["process"]["args"][0], "sh");
  EXPECT_FALSE(oci::merge_into_config(json::array(), set, maps));
}

TEST(OciSpec, LoadConfigFromFile) {
  test::TempDir dir("oci");
  std::ofstream(dir / "config.json") << kSpec;
  auto spec = oci::load_config(dir / "config.json");
  ASSERT_OK(spec);
  EXPECT_EQ(spec->namespaces.size(), 7u);
  auto missing = oci::load_config(dir / "nope.json");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().sys_errno(), ENOENT);
  std::ofstream(dir / "bad.json") << "{\"linux\": 5}";
  auto bad = oci::load_config(dir / "bad.json");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("bad.json"), std::string::npos);
}

// load_config in a child process, so that a hang is seen (and ended) instead of hanging the test:
// its exit code (0 loaded, 1 refused with a clear message, 2 refused unclearly), or nullopt when
// it had not returned within `deadline`.
std::optional<int> load_config_in_child(const std::string& path, const std::string& expected_message,
                                        std::chrono::seconds deadline = std::chrono::seconds(10)) {
  auto fn = [&]() -> int {
    auto spec = oci::load_config(path);
    if (spec) return 0;
    return spec.error().is(Errc::invalid_argument) &&
                   spec.error().message().find(expected_message) != std::string::npos &&
                   spec.error().message().find(path) != std::string::npos
               ? 1
               : 2;
  };
  auto child = clone_process(CloneOptions{}, fn);
  if (!child) return -1;
  auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    auto done = child->try_wait();
    if (!done) return -1;
    if (*done) return **done;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  (void)child->kill_and_wait();
  return std::nullopt;
}

// A FIFO in config.json's place: std::ifstream waited for a writer forever.
TEST(OciSpec, LoadConfigOfAFifoFailsAtOnce) {
  test::TempDir dir("oci");
  ASSERT_EQ(::mkfifo((dir / "config.json").c_str(), 0600), 0);
  auto code = load_config_in_child(dir / "config.json", "not a regular file");
  ASSERT_TRUE(code) << "load_config of a FIFO still blocked after 10 s";
  EXPECT_EQ(*code, 1);
}

TEST(OciSpec, LoadConfigRefusesA100MBFileAndDeepNesting) {
  test::TempDir dir("oci");
  std::string huge = dir / "huge.json";
  std::ofstream(huge).close();
  ASSERT_EQ(::truncate(huge.c_str(), 100 << 20), 0);  // sparse: no disk used
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(load_config_in_child(huge, "larger than 16777216 bytes"), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));

  // Valid JSON nested 100000 deep where parse_config never looks: it is refused all the same,
  // before anything can recurse through it.
  std::string deep = dir / "deep.json";
  std::ofstream(deep) << R"({"annotations": {"x": )" << std::string(100000, '[') << std::string(100000, ']')
                      << "}}";
  EXPECT_EQ(load_config_in_child(deep, "nested deeper than 64 levels"), 1);
  auto text = oci::parse_config_text(std::string(100000, '[') + std::string(100000, ']'));
  ASSERT_FALSE(text);
  EXPECT_TRUE(text.error().is(Errc::invalid_argument)) << text.error().message();
}

TEST(OciSpec, SpawnWithASpec) {
  PODNS_REQUIRE_ROOT();
  auto spec = oci::parse_config_text(R"({"linux": {
      "namespaces": [{"type": "user"}, {"type": "network"}, {"type": "pid"}, {"type": "mount"}],
      "uidMappings": [{"containerID": 0, "hostID": 1000000, "size": 65536}],
      "gidMappings": [{"containerID": 0, "hostID": 1000000, "size": 65536}]}})");
  ASSERT_OK(spec);
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd rd(p[0]), wr(p[1]);
  SpawnRequest base;
  base.argv = {"sh", "-c", "echo $$; cat /proc/self/uid_map; ls /sys/class/net"};
  base.fds = {{wr.get(), 1}};
  auto child = oci::spawn_with(*spec, base);
  ASSERT_OK(child);
  wr.reset();
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = ::read(rd.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  EXPECT_EQ(*child->wait(), 0);
  EXPECT_EQ(out.substr(0, 2), "1\n") << out;
  EXPECT_NE(out.find("0    1000000      65536"), std::string::npos) << out;
}

TEST(OciSpec, SpecForPinsReadsMapsBack) {
  PODNS_REQUIRE_ROOT();
  test::TempDir dir("oci");
  Paths paths = Paths::under(dir / "run", dir / "state");
  std::string name = test::unique_name("oc");
  struct Guard {
    Paths p;
    std::string n;
    ~Guard() { (void)remove_pinned(p, n); }
  } guard{paths, name};
  IdMappings maps;
  maps.uid = {{0, 1000000, 65536}};
  maps.gid = {{0, 1000000, 1000}, {1000, 1010000, 1000}};
  auto set = create_userns_set({.paths = paths, .name = name, .types = {NamespaceType::user, NamespaceType::net},
                                .idmaps = maps});
  ASSERT_OK(set);
  auto j = oci::spec_for_pins({.paths = paths, .name = name});
  ASSERT_OK(j);
  auto back = oci::parse_config(*j);
  ASSERT_OK(back);
  EXPECT_EQ(back->idmaps.uid, maps.uid);
  EXPECT_EQ(back->idmaps.gid, maps.gid);
  ASSERT_EQ(back->namespaces.size(), 2u);
  EXPECT_EQ(back->namespaces[0], (NamespaceRequest{NamespaceType::user, set->pins[0].path}));
  EXPECT_TRUE(oci::warnings(*back).empty());
  auto none = oci::spec_for_pins({.paths = paths, .name = "nothing-here"});
  ASSERT_FALSE(none);
  EXPECT_TRUE(none.error().is(Errc::not_found));
}

}  // namespace
}  // namespace podns
