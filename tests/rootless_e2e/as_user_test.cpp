// End to end, as a real unprivileged user: the test (root, under ctest) re-runs this binary as the
// user `podns-test` that scripts/test-setup.sh creates (with /etc/subuid and /etc/subgid ranges
// and a usable /dev/net/tun), with a private XDG_RUNTIME_DIR, and checks that the inner scenario
// passed. The inner scenarios (AsUserInner.*) skip unless started that way.
//
// Each inner scenario: a pod user namespace mapped through newuidmap/newgidmap from /etc/subuid
// (unshare --map-auto) owning the pod's netns, a server inside it, the driver publishing a port
// on 127.0.0.1, a server on the host's loopback reached from inside the pod through the driver's
// host address (host loopback allowed for that), then stop: no process, socket or file left.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "../rootless/pod_fixture.hpp"
#include "podns/rootless/driver.hpp"
#include "test_support.hpp"
#include "test_user.hpp"

namespace podns::rootless {
namespace {

namespace fs = std::filesystem;
using podns::test::NsHolder;
using podns::test::PodUserns;
using podns::test::Server;

constexpr const char* kInnerFlag = "PODNS_E2E_AS_USER";

#define INNER_ONLY()                          \
  if (!podns::test::is_inner_run(kInnerFlag)) \
  GTEST_SKIP() << "runs as the unprivileged user under RootlessAsUser.* (" << kInnerFlag << "=1)"

// Run AsUserInner.<name> as podns-test; the user's run dir is empty again afterwards: no
// socket, pid file or log left.
void run_as_user(const std::string& name) {
  podns::test::rerun_as_test_user({.filter = "AsUserInner." + name, .inner_flag = kInnerFlag},
                                  [](const std::string& xdg) {
                                    std::error_code ec;
                                    fs::path run_dir = fs::path(xdg) / "podns/rootless";
                                    EXPECT_TRUE(!fs::exists(run_dir, ec) || fs::is_empty(run_dir, ec))
                                        << "files left in " << run_dir;
                                  });
}

TEST(RootlessAsUser, Slirp4netns) { run_as_user("Slirp4netns"); }
TEST(RootlessAsUser, Pasta) { run_as_user("Pasta"); }
TEST(RootlessAsUser, BadInput) { run_as_user("BadInput"); }

std::string user_run_dir() { return std::string(std::getenv("XDG_RUNTIME_DIR")) + "/podns/rootless"; }

// The pod: a userns mapped from /etc/subuid by newuidmap, owning the netns.
void expect_subordinate_mapping(const NsHolder& holder) {
  std::string map = holder.uid_map();
  EXPECT_NE(map.find(fmt::format("{}", geteuid())), std::string::npos) << map;
  EXPECT_NE(map.find("2000000"), std::string::npos) << "no /etc/subuid range in the pod's uid_map:\n" << map;
}

TEST(AsUserInner, Slirp4netns) {
  INNER_ONLY();
  NsHolder holder(PodUserns::subordinate);
  ASSERT_TRUE(holder.ok()) << holder.error();
  expect_subordinate_mapping(holder);
  // Port 80 inside the pod is fine: the pod's root owns its netns.
  Server pod_server(&holder, "0.0.0.0", 80, "slirp4netns pod says hi\n");
  ASSERT_TRUE(pod_server.ok());
  Server host_server(nullptr, "127.0.0.1", 0, "host loopback says hi\n");
  ASSERT_TRUE(host_server.ok());

  RootlessNetRequest req;
  req.kind = DriverKind::slirp4netns;
  req.name = "userpod";
  req.netns_path = holder.netns_path();
  req.userns_path = holder.userns_path();
  req.run_dir = user_run_dir();
  req.allow_host_loopback = true;  // to reach the host server through 10.0.2.2
  uint16_t port = podns::test::free_port();
  req.forwards.push_back({"127.0.0.1", port, 80, Proto::tcp, -1});
  auto net = start_rootless_net(req);
  ASSERT_OK(net);
  RootlessNetRecord rec = net->record();
  EXPECT_TRUE(fs::exists(rec.api_socket));

  EXPECT_EQ(podns::test::fetch("127.0.0.1", port).value_or("(nothing)"), "slirp4netns pod says hi\n");
  EXPECT_EQ(podns::test::fetch_from_pod(holder, "10.0.2.2", host_server.port()).value_or("(nothing)"),
            "host loopback says hi\n");

  uint16_t port2 = podns::test::free_port();
  auto added = add_forward(net->record(), {"", port2, 80, Proto::tcp, -1});
  ASSERT_OK(added);
  auto listed = list_forwards(net->record());
  ASSERT_OK(listed);
  EXPECT_EQ(listed->size(), 2u);
  EXPECT_EQ(podns::test::fetch("127.0.0.1", port2).value_or("(nothing)"), "slirp4netns pod says hi\n");

  EXPECT_OK(net->stop());
  EXPECT_FALSE(podns::test::process_running(rec.pid));
  EXPECT_FALSE(fs::exists(rec.api_socket));
  EXPECT_FALSE(fs::exists(rec.log_path));
}

TEST(AsUserInner, Pasta) {
  INNER_ONLY();
  NsHolder holder(PodUserns::subordinate);
  ASSERT_TRUE(holder.ok()) << holder.error();
  expect_subordinate_mapping(holder);
  Server pod_server(&holder, "0.0.0.0", 80, "pasta pod says hi\n");
  ASSERT_TRUE(pod_server.ok());
  Server host_server(nullptr, "127.0.0.1", 0, "host loopback says hi\n");
  ASSERT_TRUE(host_server.ok());

  RootlessNetRequest req;
  req.kind = DriverKind::pasta;
  req.name = "userpod";
  req.netns_path = holder.netns_path();
  req.userns_path = holder.userns_path();
  req.run_dir = user_run_dir();
  req.allow_host_loopback = true;  // pasta maps the gateway address to the host's loopback
  uint16_t port = podns::test::free_port();
  req.forwards.push_back({"127.0.0.1", port, 80, Proto::tcp, -1});
  auto net = start_rootless_net(req);
  ASSERT_OK(net);
  RootlessNetRecord rec = net->record();

  EXPECT_EQ(podns::test::fetch("127.0.0.1", port).value_or("(nothing)"), "pasta pod says hi\n");
  std::string gw = podns::test::pod_gateway(holder);
  ASSERT_FALSE(gw.empty()) << "pasta configured no default route in the pod";
  EXPECT_EQ(podns::test::fetch_from_pod(holder, gw.c_str(), host_server.port()).value_or("(nothing)"),
            "host loopback says hi\n");

  EXPECT_OK(net->stop());
  EXPECT_FALSE(podns::test::process_running(rec.pid));
  EXPECT_FALSE(fs::exists(rec.pid_file));
  EXPECT_FALSE(fs::exists(rec.log_path));
}

TEST(AsUserInner, BadInput) {
  INNER_ONLY();
  NsHolder holder(PodUserns::subordinate);
  ASSERT_TRUE(holder.ok()) << holder.error();
  for (DriverKind kind : {DriverKind::slirp4netns, DriverKind::pasta}) {
    RootlessNetRequest req;
    req.kind = kind;
    req.name = "bad";
    req.netns_path = holder.netns_path();
    req.userns_path = holder.userns_path();
    req.run_dir = user_run_dir();
    // A privileged host port as a user: refused up front, naming the sysctl.
    req.forwards = {{"", 80, 80, Proto::tcp, -1}};
    auto net = start_rootless_net(req);
    ASSERT_FALSE(net.has_value());
    EXPECT_NE(net.error().message().find("host port 80 is privileged"), std::string::npos) << net.error().message();
    EXPECT_NE(net.error().message().find("net.ipv4.ip_unprivileged_port_start"), std::string::npos);
    // A host port already taken.
    UniqueFd taken = podns::test::listen_tcp("0.0.0.0", 0);
    ASSERT_TRUE(taken);
    uint16_t port = podns::test::bound_port(taken.view());
    req.forwards = {{"", port, 80, Proto::tcp, -1}};
    net = start_rootless_net(req);
    ASSERT_FALSE(net.has_value());
    EXPECT_NE(net.error().message().find("already in use"), std::string::npos) << net.error().message();
    // The driver missing: the message names the Debian package.
    req.forwards.clear();
    req.binary = "/nonexistent/" + std::string(driver_name(kind));
    net = start_rootless_net(req);
    ASSERT_FALSE(net.has_value());
    EXPECT_NE(net.error().message().find(fmt::format("install the Debian package {}", driver_package(kind))),
              std::string::npos);
  }
  std::error_code ec;
  EXPECT_TRUE(!fs::exists(user_run_dir(), ec) || fs::is_empty(user_run_dir(), ec));
}

}  // namespace
}  // namespace podns::rootless
