// The pasta driver against the real kernel and the real pasta: published TCP and UDP-free
// forwards, host loopback through the gateway address, quitting when the pinned netns goes away,
// and failures rolled back.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "driver_fixture.hpp"
#include "podns/rootless/driver.hpp"
#include "rootless/drivers.hpp"
#include "rootless/helper_process.hpp"
#include "test_support.hpp"

namespace podns::rootless {
namespace {

namespace fs = std::filesystem;
using podns::test::dir_has_files;
using podns::test::NetnsPin;
using podns::test::NsHolder;
using podns::test::PodUserns;
using podns::test::Server;
using podns::test::TempDir;

#define REQUIRE_PASTA()                     \
  PODNS_REQUIRE_ROOT();                     \
  PODNS_REQUIRE_TOOL("pasta", "passt");     \
  PODNS_REQUIRE_TOOL("unshare", "util-linux")

RootlessNetRequest request_for(const NsHolder& holder, const TempDir& dir, const std::string& name) {
  return podns::test::driver_request(DriverKind::pasta, holder, dir, name);
}

TEST(Pasta, ArgvPublishesOnlyWhatWasAsked) {
  RootlessNetRequest req;
  req.netns_path = "/run/user/1000/netns/web";
  req.userns_path = "/proc/42/ns/user";
  req.forwards = {{"", 8080, 80, Proto::tcp, -1}, {"127.0.0.1", 8443, 443, Proto::tcp, -1}};
  auto argv = detail::pasta_argv("/usr/bin/pasta", req, "/run/web.pasta.pid");
  std::vector<std::string> want{"/usr/bin/pasta", "--config-net", "--foreground", "--quiet", "--stderr",
                                "--pid", "/run/web.pasta.pid", "--mtu", "65520",
                                "-t", "8080:80", "-t", "127.0.0.1/8443:443", "-u", "none", "-T", "none",
                                "-U", "none", "--no-map-gw", "--userns", "/proc/42/ns/user",
                                "--netns", "/run/user/1000/netns/web"};
  // Root keeps its ids (pasta would switch to nobody and fail to join the namespaces).
  auto runas = [](std::vector<std::string>& v, size_t before_end) {
    if (geteuid() == 0)
      v.insert(v.end() - static_cast<long>(before_end), {"--runas", fmt::format("{}:{}", geteuid(), getegid())});
  };
  runas(want, 4);
  EXPECT_EQ(argv, want);
  req.forwards = {{"", 5353, 53, Proto::udp, -1}};
  req.userns_path.clear();
  req.allow_host_loopback = true;
  argv = detail::pasta_argv("pasta", req, "/p");
  want = {"pasta", "--config-net", "--foreground", "--quiet", "--stderr", "--pid", "/p", "--mtu", "65520",
          "-u", "5353:53", "-t", "none", "-T", "none", "-U", "none", "--netns", "/run/user/1000/netns/web"};
  runas(want, 2);
  EXPECT_EQ(argv, want);
}

TEST(Pasta, PublishedPortReachesServerInUsernsPod) {
  REQUIRE_PASTA();
  TempDir dir("pasta");
  NsHolder holder(PodUserns::subordinate);
  ASSERT_TRUE(holder.ok()) << holder.error();
  Server server(&holder, "0.0.0.0", 8080, "hello via pasta\n");
  ASSERT_TRUE(server.ok());
  uint16_t host_port = podns::test::free_port();
  auto req = request_for(holder, dir, "web");
  req.forwards.push_back({"", host_port, 8080, Proto::tcp, -1});
  auto net = start_rootless_net(req);
  ASSERT_OK(net);
  EXPECT_EQ(net->record().kind, DriverKind::pasta);
  EXPECT_TRUE(*alive(net->record()));
  auto got = podns::test::fetch("127.0.0.1", host_port);
  ASSERT_TRUE(got.has_value()) << "no answer through pasta's published port";
  EXPECT_EQ(*got, "hello via pasta\n");
  auto listed = list_forwards(net->record());
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(format_port_forward((*listed)[0]), fmt::format("{}:8080/tcp", host_port));
  auto add = add_forward(net->record(), {"", 9999, 99, Proto::tcp, -1});
  ASSERT_FALSE(add.has_value());
  EXPECT_TRUE(add.error().is(Errc::unsupported));
  EXPECT_OK(net->stop());
  EXPECT_FALSE(dir_has_files(req.run_dir));
}

// pasta's host address: the gateway it copies into the pod maps to the host's loopback (the
// default, --map-gw) when allow_host_loopback is set. The server runs on the host's 127.0.0.1.
TEST(Pasta, HostLoopbackThroughTheGatewayWhenAllowed) {
  REQUIRE_PASTA();
  TempDir dir("pasta");
  Server host_server(nullptr, "127.0.0.1", 0, "hello from the host\n");
  ASSERT_TRUE(host_server.ok());
  NsHolder holder(PodUserns::root_only);
  ASSERT_TRUE(holder.ok()) << holder.error();
  auto req = request_for(holder, dir, "gw");
  req.allow_host_loopback = true;
  auto net = start_rootless_net(req);
  ASSERT_OK(net);
  std::string gw = podns::test::pod_gateway(holder);
  if (gw.empty()) GTEST_SKIP() << "the host has no IPv4 default route for pasta to copy";
  EXPECT_EQ(podns::test::fetch_from_pod(holder, gw.c_str(), host_server.port()).value_or("(nothing)"),
            "hello from the host\n");
}

// Item 3: pasta exits by itself once the netns pin it was pointed at is removed.
TEST(Pasta, ExitsWhenThePinnedNetnsGoesAway) {
  REQUIRE_PASTA();
  TempDir dir("pasta");
  NsHolder holder(PodUserns::none);
  ASSERT_TRUE(holder.ok()) << holder.error();
  fs::create_directories(dir / "pins");
  NetnsPin pin(holder, dir / "pins/podnet");
  ASSERT_TRUE(pin.ok());
  auto req = request_for(holder, dir, "pinned");
  req.netns_path = pin.path();
  auto net = start_rootless_net(req);
  ASSERT_OK(net);
  RootlessNetRecord rec = net->record();
  UniqueFd watch(fcntl(net->pidfd().get(), F_DUPFD_CLOEXEC, 3));
  (void)net->detach();
  holder.kill();
  pin.remove();
  bool exited = detail::wait_exit(watch.view(), std::chrono::milliseconds(5000));
  if (!exited) (void)stop(rec);
  EXPECT_TRUE(exited) << "pasta kept running after its netns pin was removed";
  (void)detail::reap(watch.view());
  EXPECT_OK(stop(rec));
  EXPECT_FALSE(dir_has_files(req.run_dir));
}

TEST(Pasta, HelperCrashingAtStartIsReportedWithItsLog) {
  REQUIRE_PASTA();
  TempDir dir("pasta");
  NsHolder holder(PodUserns::root_only);
  ASSERT_TRUE(holder.ok()) << holder.error();
  auto req = request_for(holder, dir, "badns");
  req.netns_path = dir / "no-such-netns";
  auto net = start_rootless_net(req);
  ASSERT_FALSE(net.has_value());
  EXPECT_TRUE(net.error().is(Errc::plugin_failed)) << net.error().message();
  EXPECT_NE(net.error().message().find("pasta exited with status"), std::string::npos) << net.error().message();
  EXPECT_FALSE(dir_has_files(req.run_dir));
}

}  // namespace
}  // namespace podns::rootless
