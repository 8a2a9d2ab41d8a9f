// What both rootless drivers promise, each against its real helper: a published port reaches a
// server in a root pod whose netns is pinned as the pod layer pins it, a host port already taken
// fails the start and leaves nothing behind, and a missing binary names the Debian package.
// Driver-specific behaviour is in slirp4netns_test.cpp and pasta_test.cpp.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "driver_fixture.hpp"
#include "rootless/drivers.hpp"
#include "rootless/helper_process.hpp"

namespace podns::rootless {
namespace {

using podns::test::driver_request;
using podns::test::NetnsPin;
using podns::test::NsHolder;
using podns::test::PodUserns;
using podns::test::Server;
using podns::test::TempDir;

class Driver : public ::testing::TestWithParam<DriverKind> {
 protected:
  DriverKind kind() const { return GetParam(); }
  std::string name() const { return std::string(driver_name(kind())); }
};

#define REQUIRE_DRIVER()                                      \
  PODNS_REQUIRE_ROOT();                                       \
  PODNS_REQUIRE_TOOL(name(), driver_package(kind()));         \
  PODNS_REQUIRE_TOOL("unshare", "util-linux")

// Item 5: root with a netns of its own (owned by the initial user namespace), pinned by a bind
// mount (pasta drops its capabilities and cannot open another process's /proc/PID/ns/net).
TEST_P(Driver, PublishedPortReachesServerInRootPod) {
  REQUIRE_DRIVER();
  TempDir dir("driver");
  NsHolder holder(PodUserns::none);
  ASSERT_TRUE(holder.ok()) << holder.error();
  NetnsPin pin(holder, dir / "rootpod.netns");
  ASSERT_TRUE(pin.ok());
  Server server(&holder, "0.0.0.0", 8080, "hello from the pod\n");
  ASSERT_TRUE(server.ok());
  uint16_t host_port = podns::test::free_port();
  auto req = driver_request(kind(), holder, dir, "rootpod");
  req.netns_path = pin.path();
  req.forwards.push_back({"127.0.0.1", host_port, 8080, Proto::tcp, -1});
  auto net = start_rootless_net(req);
  ASSERT_OK(net);
  EXPECT_EQ(net->record().kind, kind());
  EXPECT_GT(net->record().pid, 0);
  EXPECT_GT(net->record().start_time, 0u);
  if (kind() == DriverKind::slirp4netns) {  // forwards are added through its API: each has an id
    ASSERT_EQ(net->record().forwards.size(), 1u);
    EXPECT_GE(net->record().forwards[0].id, 0);
  }
  EXPECT_EQ(podns::test::fetch("127.0.0.1", host_port).value_or("(nothing)"), "hello from the pod\n");
  EXPECT_OK(net->stop());
  EXPECT_FALSE(podns::test::dir_has_files(req.run_dir)) << "socket, pid file or log left behind";
}

TEST_P(Driver, HostPortAlreadyTakenRollsBack) {
  REQUIRE_DRIVER();
  TempDir dir("driver");
  NsHolder holder(PodUserns::root_only);
  ASSERT_TRUE(holder.ok()) << holder.error();
  UniqueFd taken = podns::test::listen_tcp("0.0.0.0", 0);
  ASSERT_TRUE(taken);
  uint16_t port = podns::test::bound_port(taken.view());
  auto req = driver_request(kind(), holder, dir, "taken");
  req.forwards.push_back({"", podns::test::free_port(), 80, Proto::tcp, -1});
  req.forwards.push_back({"", port, 80, Proto::tcp, -1});
  auto net = start_rootless_net(req);
  ASSERT_FALSE(net.has_value());
  EXPECT_TRUE(net.error().is(Errc::busy)) << net.error().message();
  EXPECT_NE(net.error().message().find(fmt::format("host port {}/tcp is already in use", port)), std::string::npos)
      << net.error().message();
  EXPECT_NE(net.error().message().find(fmt::format("start {} for taken", name())), std::string::npos)
      << net.error().message();
  EXPECT_FALSE(podns::test::dir_has_files(req.run_dir)) << "socket, pid file or log left behind";
  // No helper left: the leak check asserts that after the test.
}

TEST_P(Driver, MissingBinaryNamesThePackage) {
  TempDir dir("driver");
  RootlessNetRequest req;
  req.kind = kind();
  req.name = "missing";
  req.netns_path = "/proc/self/ns/net";
  req.run_dir = dir / "run";
  req.binary = "/nonexistent/" + name();
  auto net = start_rootless_net(req);
  ASSERT_FALSE(net.has_value());
  EXPECT_TRUE(net.error().is(Errc::not_found)) << net.error().message();
  std::string package(driver_package(kind()));
  EXPECT_NE(net.error().message().find("install the Debian package " + package), std::string::npos)
      << net.error().message();
  // Missing from PATH altogether says the same.
  auto path_only = detail::find_tool(name() + "-not-installed", package);
  ASSERT_FALSE(path_only.has_value());
  EXPECT_NE(path_only.error().message().find("not found in PATH (install the Debian package " + package + ")"),
            std::string::npos)
      << path_only.error().message();
}

INSTANTIATE_TEST_SUITE_P(Drivers, Driver, ::testing::Values(DriverKind::slirp4netns, DriverKind::pasta),
                         [](const ::testing::TestParamInfo<DriverKind>& info) {
                           return std::string(driver_name(info.param));
                         });

}  // namespace
}  // namespace podns::rootless
