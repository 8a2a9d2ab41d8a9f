// The C API (include/podns/podns.h) against the real kernel: pins, user-namespace-owned sets,
// run-in-namespace, spawn, native networks and pods, errors, and the C example program.
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../pod/pod_fixture.hpp"
#include "podns/podns.h"
#include "test_support.hpp"

namespace podns {
namespace {

using test::PodWorld;

// An error the test owns and frees.
struct CError {
  podns_error* e = nullptr;
  ~CError() { podns_error_free(e); }
  podns_error** out() {
    podns_error_free(e);
    e = nullptr;
    return &e;
  }
  std::string message() const { return e ? podns_error_message(e) : "(no error)"; }
  int code() const { return podns_error_code(e); }
};

// A context on a test's own dirs and networks (PodWorld), the environment set as the CLI's.
struct CContext {
  explicit CContext(PodWorld& w) {
    for (const auto& kv : w.cli_env()) {
      auto eq = kv.find('=');
      ::setenv(kv.substr(0, eq).c_str(), kv.substr(eq + 1).c_str(), 1);
    }
    CError err;
    ctx = podns_ctx_new(w.env.paths.run_dir.c_str(), w.env.paths.state_dir.c_str(), err.out());
    EXPECT_NE(ctx, nullptr) << err.message();
  }
  ~CContext() { podns_ctx_free(ctx); }
  podns_ctx* ctx = nullptr;
};

ino_t inode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

TEST(CApi, VersionIsTheProjects) {
  EXPECT_STREQ(podns_version(), PODNS_PROJECT_VERSION);
  EXPECT_EQ(PODNS_VERSION, PODNS_MAKE_VERSION(PODNS_VERSION_MAJOR, PODNS_VERSION_MINOR, PODNS_VERSION_PATCH));
}

TEST(CApi, BadInputIsACodeAnErrnoAndAMessage) {
  test::TempDir dir("capi");
  CError err;
  EXPECT_EQ(podns_ctx_new(dir.path().c_str(), nullptr, err.out()), nullptr);
  EXPECT_EQ(err.code(), PODNS_ERR_INVALID_ARGUMENT);
  podns_ctx* ctx = podns_ctx_new((dir / "run").c_str(), (dir / "state").c_str(), err.out());
  ASSERT_NE(ctx, nullptr) << err.message();

  errno = 0;
  EXPECT_EQ(podns_ns_create(ctx, "../evil", PODNS_NS_NET, err.out()), -1);
  EXPECT_EQ(err.code(), PODNS_ERR_INVALID_NAME);
  EXPECT_EQ(podns_error_errno(err.e), EINVAL);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_NE(err.message().find("../evil"), std::string::npos) << err.message();

  EXPECT_EQ(podns_ns_create(ctx, "x", 0x1, err.out()), -1);  // not a CLONE_NEW* bit
  EXPECT_EQ(err.code(), PODNS_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(podns_ns_create(ctx, nullptr, PODNS_NS_NET, err.out()), -1);
  EXPECT_EQ(err.code(), PODNS_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(podns_ns_open(ctx, "absent", PODNS_NS_NET, err.out()), -1);
  EXPECT_EQ(podns_error_errno(err.e), ENOENT) << err.message();
  EXPECT_EQ(podns_ns_path(ctx, "x", PODNS_NS_NET | PODNS_NS_UTS, err.out()), nullptr);  // one type only
  EXPECT_EQ(err.code(), PODNS_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(podns_run_in_ns("/proc/self/status", PODNS_NS_NET, [](void*) { return 0; }, nullptr, nullptr, err.out()), -1);
  EXPECT_EQ(err.code(), PODNS_ERR_NOT_A_NAMESPACE);
  EXPECT_EQ(podns_pod_inspect(ctx, "absent", nullptr, err.out()), -1);
  EXPECT_EQ(err.code(), PODNS_ERR_INVALID_ARGUMENT);

  // Errors without an error object: errno alone.
  errno = 0;
  EXPECT_EQ(podns_ns_create(ctx, "bad/name", PODNS_NS_NET, nullptr), -1);
  EXPECT_EQ(errno, EINVAL);

  podns_pod_options* opts = podns_pod_options_new();
  EXPECT_EQ(podns_pod_options_add_port(opts, "99999:80", err.out()), -1);
  EXPECT_EQ(err.code(), PODNS_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(podns_pod_options_add_sysctl(opts, "no-equals", err.out()), -1);
  podns_pod_options_free(opts);
  podns_ctx_free(ctx);
}

TEST(CApi, PinsOpenRunInAndRemove) {
  PODNS_REQUIRE_ROOT();
  test::TempDir dir("capi");
  CError err;
  podns_ctx* ctx = podns_ctx_new((dir / "run").c_str(), (dir / "state").c_str(), err.out());
  ASSERT_NE(ctx, nullptr) << err.message();
  const std::string name = test::unique_name("cp");

  ASSERT_EQ(podns_ns_create(ctx, name.c_str(), PODNS_NS_NET | PODNS_NS_UTS, err.out()), 0) << err.message();
  EXPECT_EQ(podns_ns_create(ctx, name.c_str(), PODNS_NS_NET, err.out()), -1);
  EXPECT_EQ(err.code(), PODNS_ERR_ALREADY_EXISTS);

  char* path = podns_ns_path(ctx, name.c_str(), PODNS_NS_NET, err.out());
  ASSERT_NE(path, nullptr) << err.message();
  const std::string netns_path = path;
  podns_free(path);
  EXPECT_EQ(netns_path, dir / "run/netns/" + name);

  int fd = podns_ns_open(ctx, name.c_str(), PODNS_NS_NET, err.out());
  ASSERT_GE(fd, 0) << err.message();
  EXPECT_EQ(::ioctl(fd, NS_GET_NSTYPE), CLONE_NEWNET);
  EXPECT_TRUE(::fcntl(fd, F_GETFD) & FD_CLOEXEC);
  ::close(fd);
  EXPECT_EQ(podns_ns_open(ctx, name.c_str(), PODNS_NS_IPC, err.out()), -1);  // no ipc pin

  // The callback runs in the pin's netns and its return value comes back.
  struct Seen {
    ino_t inode = 0;
  } seen;
  int result = 0;
  ASSERT_EQ(podns_run_in_ns(netns_path.c_str(), PODNS_NS_NET,
                            [](void* arg) {
                              static_cast<Seen*>(arg)->inode = inode_of("/proc/thread-self/ns/net");
                              return 42;
                            },
                            &seen, &result, err.out()),
            0)
      << err.message();
  EXPECT_EQ(result, 42);
  EXPECT_EQ(seen.inode, inode_of(netns_path));
  EXPECT_NE(inode_of("/proc/thread-self/ns/net"), seen.inode);

  char* spec = podns_ns_oci_spec(ctx, name.c_str(), err.out());
  ASSERT_NE(spec, nullptr) << err.message();
  auto j = nlohmann::json::parse(spec, nullptr, false);
  podns_free(spec);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["linux"]["namespaces"].size(), 2u) << j.dump();

  ASSERT_EQ(podns_ns_remove(ctx, name.c_str(), 0, err.out()), 0) << err.message();
  EXPECT_EQ(podns_ns_remove(ctx, name.c_str(), 0, err.out()), 0) << "idempotent: " << err.message();
  EXPECT_FALSE(std::filesystem::exists(netns_path));
  podns_ctx_free(ctx);
}

TEST(CApi, UsernsSetAndASpawnInsideIt) {
  PODNS_REQUIRE_ROOT();
  test::TempDir dir("capi");
  CError err;
  podns_ctx* ctx = podns_ctx_new((dir / "run").c_str(), (dir / "state").c_str(), err.out());
  ASSERT_NE(ctx, nullptr) << err.message();
  const std::string name = test::unique_name("cu");
  const podns_idmap range{0, 200000, 65536};
  const podns_idmappings maps{&range, 1, &range, 1, 0};
  const char* sysctls[] = {"net.ipv4.ip_forward=1", nullptr};
  ASSERT_EQ(podns_userns_set_create(ctx, name.c_str(), PODNS_NS_USER | PODNS_NS_NET, &maps, sysctls, err.out()), 0)
      << err.message();

  char* user = podns_ns_path(ctx, name.c_str(), PODNS_NS_USER, err.out());
  char* net = podns_ns_path(ctx, name.c_str(), PODNS_NS_NET, err.out());
  ASSERT_TRUE(user && net);
  // Joins both (user first, as a runtime does) and reads what it sees there.
  podns_spawn_attr* attr = podns_spawn_attr_new();
  const char* argv[] = {"/bin/sh", "-c", "test \"$(cat /proc/sys/net/ipv4/ip_forward)\" = 1 && test \"$(id -u)\" = 0 && "
                        "awk '{exit !($2 == 200000)}' /proc/self/uid_map", nullptr};
  ASSERT_EQ(podns_spawn_attr_set_argv(attr, argv, err.out()), 0);
  ASSERT_EQ(podns_spawn_attr_add_namespace(attr, PODNS_NS_USER, user, err.out()), 0);
  ASSERT_EQ(podns_spawn_attr_add_namespace(attr, PODNS_NS_NET, net, err.out()), 0);
  EXPECT_EQ(podns_spawn_attr_add_namespace(attr, PODNS_NS_NET, nullptr, err.out()), -1);  // net twice
  podns_free(user);
  podns_free(net);
  podns_process* proc = podns_spawn(attr, err.out());
  ASSERT_NE(proc, nullptr) << err.message();
  EXPECT_GT(podns_process_pid(proc), 0);
  EXPECT_GE(podns_process_pidfd(proc), 0);
  int code = -1;
  ASSERT_EQ(podns_process_wait(proc, &code, err.out()), 0) << err.message();
  EXPECT_EQ(code, 0);
  podns_process_free(proc);

  // A process podns_process_free must kill and reap.
  const char* sleeper[] = {"sleep", "600", nullptr};
  ASSERT_EQ(podns_spawn_attr_set_argv(attr, sleeper, err.out()), 0);
  proc = podns_spawn(attr, err.out());
  ASSERT_NE(proc, nullptr) << err.message();
  pid_t pid = podns_process_pid(proc);
  ASSERT_EQ(podns_process_signal(proc, SIGTERM, err.out()), 0) << err.message();
  ASSERT_EQ(podns_process_wait(proc, &code, err.out()), 0);
  EXPECT_EQ(code, 128 + SIGTERM);
  podns_process_free(proc);
  EXPECT_NE(::kill(pid, 0), 0);
  podns_spawn_attr_free(attr);

  char* spec = podns_ns_oci_spec(ctx, name.c_str(), err.out());
  ASSERT_NE(spec, nullptr) << err.message();
  auto j = nlohmann::json::parse(spec, nullptr, false);
  podns_free(spec);
  EXPECT_EQ(j["linux"]["uidMappings"][0]["hostID"], 200000) << j.dump();

  ASSERT_EQ(podns_ns_remove(ctx, name.c_str(), 0, err.out()), 0) << err.message();
  podns_ctx_free(ctx);
}

TEST(CApi, PodOnANativeNetworkWithAPort) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("nft", "nftables");
  PodWorld w;
  CContext c(w);
  ASSERT_NE(c.ctx, nullptr);
  CError err;
  const std::string net = test::unique_name("cn");
  const std::string subnet = fmt::format("10.120.{}.0/24", ::getpid() % 256);
  podns_network_options* nopts = podns_network_options_new();
  ASSERT_EQ(podns_network_options_add_subnet(nopts, subnet.c_str(), nullptr, nullptr, err.out()), 0);
  ASSERT_EQ(podns_network_options_set_bridge(nopts, test::unique_name("pb").c_str(), err.out()), 0);
  ASSERT_EQ(podns_network_create(c.ctx, net.c_str(), nopts, err.out()), 0) << err.message();
  podns_network_options_free(nopts);

  const std::string pod = test::unique_name("cpod");
  podns_pod_options* opts = podns_pod_options_new();
  ASSERT_EQ(podns_pod_options_add_network(opts, net.c_str(), err.out()), 0);
  const std::string port = fmt::format("127.0.0.1:{}:80", 35000 + ::getpid() % 1000);
  ASSERT_EQ(podns_pod_options_add_port(opts, port.c_str(), err.out()), 0) << err.message();
  podns_pod_info* info = nullptr;
  ASSERT_EQ(podns_pod_create(c.ctx, pod.c_str(), opts, &info, err.out()), 0) << err.message();
  podns_pod_options_free(opts);
  ASSERT_NE(info, nullptr);
  EXPECT_STREQ(info->name, pod.c_str());
  EXPECT_STREQ(info->phase, "ready");
  EXPECT_STREQ(info->userns_path, "");
  ASSERT_EQ(info->n_networks, 1u);
  EXPECT_STREQ(info->networks[0].network, net.c_str());
  EXPECT_STREQ(info->networks[0].ifname, "eth0");
  ASSERT_EQ(info->networks[0].n_addresses, 1u);
  const std::string cidr = info->networks[0].addresses[0].cidr;
  EXPECT_EQ(cidr.substr(0, subnet.rfind('.')), subnet.substr(0, subnet.rfind('.'))) << cidr;
  const std::string netns_path = info->netns_path;
  podns_pod_info_free(info);

  // The same through inspect and list; the kernel's view through stats.
  ASSERT_EQ(podns_pod_inspect(c.ctx, pod.c_str(), &info, err.out()), 0) << err.message();
  EXPECT_STREQ(info->networks[0].addresses[0].cidr, cidr.c_str());
  EXPECT_EQ(std::string(info->networks[0].mac).size(), 17u);
  podns_pod_info_free(info);
  podns_pod_info* pods = nullptr;
  size_t n = 0;
  ASSERT_EQ(podns_pod_list(c.ctx, &pods, &n, err.out()), 0) << err.message();
  ASSERT_EQ(n, 1u);
  EXPECT_STREQ(pods[0].name, pod.c_str());
  podns_pod_info_list_free(pods, n);
  podns_iface_stats* stats = nullptr;
  ASSERT_EQ(podns_netns_stats(netns_path.c_str(), &stats, &n, err.out()), 0) << err.message();
  ASSERT_EQ(n, 1u);
  EXPECT_STREQ(stats[0].ifname, "eth0");
  EXPECT_GT(stats[0].ifindex, 1);
  podns_free(stats);
  char* spec = podns_pod_oci_spec(c.ctx, pod.c_str(), err.out());
  ASSERT_NE(spec, nullptr) << err.message();
  EXPECT_NE(std::string(spec).find(netns_path), std::string::npos) << spec;
  podns_free(spec);

  EXPECT_EQ(podns_network_remove(c.ctx, net.c_str(), 0, err.out()), -1) << "in use";
  EXPECT_EQ(err.code(), PODNS_ERR_BUSY) << err.message();
  ASSERT_EQ(podns_pod_remove(c.ctx, pod.c_str(), 0, err.out()), 0) << err.message();
  EXPECT_EQ(podns_pod_inspect(c.ctx, pod.c_str(), &info, err.out()), -1);
  EXPECT_EQ(err.code(), PODNS_ERR_NOT_FOUND);
  EXPECT_FALSE(std::filesystem::exists(netns_path));
  size_t cleaned = 99;
  ASSERT_EQ(podns_gc(c.ctx, &cleaned, err.out()), 0) << err.message();
  EXPECT_EQ(cleaned, 0u);
  ASSERT_EQ(podns_network_remove(c.ctx, net.c_str(), 0, err.out()), 0) << err.message();
}

// The example in examples/: a C program creates a pod on the default network, prints its address,
// removes it.
TEST(CApi, TheCExampleMakesAPodPrintsItsAddressAndRemovesIt) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("nft", "nftables");
  PodWorld w;
  const std::string pod = test::unique_name("cex");
  auto r = test::run({PODNS_C_EXAMPLE, pod}, w.cli_env());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // "NAME NETNS_PATH eth0 172.A.B.N/24"
  std::istringstream line(r.out);
  std::string name, netns, ifname, cidr;
  line >> name >> netns >> ifname >> cidr;
  EXPECT_EQ(name, pod);
  EXPECT_EQ(netns, w.env.paths.netns_dir + "/" + pod);
  EXPECT_EQ(ifname, "eth0");
  EXPECT_EQ(cidr.rfind(w.address(0).substr(0, w.address(0).size() - 1), 0), 0u) << r.out;
  auto pods = pod::list(w.env);
  ASSERT_OK(pods);
  EXPECT_TRUE(pods->empty());
  EXPECT_FALSE(std::filesystem::exists(netns));

  // A failure is podns's one line and exit 1.
  auto bad = test::run({PODNS_C_EXAMPLE, pod, "no-such-network"}, w.cli_env());
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("pod_with_network: pod create: "), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("no-such-network"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace podns
