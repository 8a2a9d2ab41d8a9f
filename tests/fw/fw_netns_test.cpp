// Tests that would disturb the host if run there (a forward chain with policy drop, bridges and
// a DNAT sanity check) run in private network namespaces held by threads: they vanish with them.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <future>
#include <gtest/gtest.h>
#include <string>

#include "fw_test_util.hpp"
#include "podns/fd.hpp"
#include "podns/fw/firewall.hpp"

namespace podns::fw {
namespace {

using podns::test::run;

#define REQUIRE_NFT_AND_IP()                 \
  do {                                       \
    PODNS_REQUIRE_ROOT();                    \
    PODNS_REQUIRE_TOOL("nft", "nftables");   \
    PODNS_REQUIRE_TOOL("ip", "iproute2");    \
  } while (0)

bool sh(const std::vector<std::string>& argv) {
  auto r = run(argv);
  if (r.exit_code != 0) ADD_FAILURE() << argv[0] << " " << argv[1] << " ...: " << r.err;
  return r.exit_code == 0;
}

TEST(ForeignForwardDrops, ListsOtherTablesDropPolicies) {
  REQUIRE_NFT_AND_IP();
  ASSERT_TRUE(test::in_private_netns([] {
    auto none = foreign_forward_drops();
    ASSERT_OK(none);
    EXPECT_TRUE(none->empty());
    // What iptables-nft with a FORWARD policy of DROP (Docker) looks like, and neighbours that do
    // not count: a forward chain that accepts, a drop policy at another hook.
    std::string script =
        "table ip filter {\n chain FORWARD { type filter hook forward priority 0; policy drop; }\n}\n"
        "table bridge br {\n chain forwarding { type filter hook forward priority 0; policy drop; }\n}\n"
        "table inet other {\n chain forwarding { type filter hook forward priority 0; policy accept; }\n"
        " chain incoming { type filter hook input priority 0; policy drop; }\n chain regular { }\n}\n";
    auto load = run({"nft", "-f", "-"}, {}, script);
    ASSERT_EQ(load.exit_code, 0) << load.err;
    auto fw = Firewall::open("podns");
    ASSERT_OK(fw);
    ASSERT_OK(fw->sync(test::sample_ruleset("0")));  // podns's own forward chain accepts
    auto drops = foreign_forward_drops();
    ASSERT_OK(drops);
    EXPECT_EQ(*drops, (std::vector<std::string>{"table bridge br chain forwarding", "table ip filter chain FORWARD"}));
  }));
}

// 0 when a TCP connection to addr:port is established within two seconds, else the errno.
int tcp_connect(const char* addr, std::uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  ::inet_pton(AF_INET, addr, &sa.sin_addr);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) return 0;
  if (errno != EINPROGRESS) return errno;
  pollfd p{fd.get(), POLLOUT, 0};
  if (::poll(&p, 1, 2000) != 1) return ETIMEDOUT;
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  return err;
}

// The peer address of the next connection the listener accepted.
std::string accepted_peer(int listener) {
  pollfd p{listener, POLLIN, 0};
  if (::poll(&p, 1, 2000) != 1) return "none";
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  UniqueFd c(::accept4(listener, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC));
  if (!c) return "none";
  char buf[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &peer.sin_addr, buf, sizeof buf);
  return buf;
}

// "host" netns: bridge b0 10.99.0.1/24 with route_localnet, as the network layer sets it up; the
// "pod" netns behind a veth listens on 10.99.0.2:80. Forwards to it from 127.0.0.1:8080 and from
// any local address :8081, reached from the host and (hairpin) from the pod itself.
TEST(Dnat, LocalhostAndHostAddressForwardsReachThePod) {
  REQUIRE_NFT_AND_IP();
  ASSERT_TRUE(test::in_private_netns([] {
    ASSERT_TRUE(sh({"ip", "link", "set", "lo", "up"}));
    ASSERT_TRUE(sh({"ip", "link", "add", "b0", "type", "bridge"}));
    ASSERT_TRUE(sh({"ip", "addr", "add", "10.99.0.1/24", "dev", "b0"}));
    ASSERT_TRUE(sh({"ip", "link", "set", "b0", "up"}));
    ASSERT_TRUE(sh({"ip", "link", "add", "h0", "type", "veth", "peer", "name", "p0"}));
    ASSERT_TRUE(sh({"ip", "link", "set", "h0", "master", "b0", "up"}));
    // With br_netfilter loaded, a DNATed frame back to the pod it came from is bridged out the port
    // it came in on: the bridge drops that unless the port is in hairpin mode (CNI's hairpinMode).
    ASSERT_TRUE(sh({"ip", "link", "set", "h0", "type", "bridge_slave", "hairpin", "on"}));
    { std::ofstream("/proc/sys/net/ipv4/conf/b0/route_localnet") << "1\n"; }
    { std::ofstream("/proc/sys/net/ipv4/ip_forward") << "1\n"; }  // for the hairpin below

    // The pod: a thread with a netns of its own; its listening socket keeps that netns alive.
    std::promise<pid_t> pod_tid;
    std::promise<void> moved;
    std::promise<int> listener;
    std::thread pod([&] {
      if (::unshare(CLONE_NEWNET) != 0) return pod_tid.set_value(-1);
      pod_tid.set_value(static_cast<pid_t>(::syscall(SYS_gettid)));
      moved.get_future().wait();
      if (!sh({"ip", "addr", "add", "10.99.0.2/24", "dev", "p0"}) || !sh({"ip", "link", "set", "p0", "up"}) ||
          !sh({"ip", "route", "add", "default", "via", "10.99.0.1"}))
        return listener.set_value(-1);
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(80);
      ::inet_pton(AF_INET, "10.99.0.2", &sa.sin_addr);
      if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 8) != 0) {
        ::close(fd);
        fd = -1;
      }
      listener.set_value(fd);
    });
    pid_t tid = pod_tid.get_future().get();
    bool moved_ok = tid > 0 && sh({"ip", "link", "set", "p0", "netns", std::to_string(tid)});
    moved.set_value();
    UniqueFd lfd(listener.get_future().get());
    pod.join();
    ASSERT_TRUE(moved_ok);
    ASSERT_TRUE(lfd);

    auto fw = Firewall::open("podns");
    ASSERT_OK(fw);
    Ruleset rs;
    rs.networks.push_back({"t", "b0", {"10.99.0.0/24"}, false});
    rs.forwards.push_back({Proto::tcp, "127.0.0.1", 8080, "10.99.0.2", 80});
    rs.forwards.push_back({Proto::tcp, "", 8081, "10.99.0.2", 80});
    ASSERT_OK(fw->sync(rs));

    EXPECT_EQ(tcp_connect("127.0.0.1", 8080), 0);
    EXPECT_EQ(accepted_peer(lfd.get()), "10.99.0.1") << "from localhost: masqueraded to the bridge address";
    EXPECT_EQ(tcp_connect("10.99.0.1", 8081), 0) << "any local address";
    EXPECT_EQ(accepted_peer(lfd.get()), "10.99.0.1");
    EXPECT_EQ(tcp_connect("127.0.0.1", 8081), 0) << "any local address includes 127.0.0.1";
    EXPECT_EQ(accepted_peer(lfd.get()), "10.99.0.1");
    // Hairpin: the pod reaches its own published port through the host's address; masqueraded,
    // or it would answer itself directly and the client would drop the reply.
    UniqueFd pod_ns(::ioctl(lfd.get(), SIOCGSKNS));
    ASSERT_TRUE(pod_ns);
    int from_pod = -1;
    std::thread([&] {
      if (::setns(pod_ns.get(), CLONE_NEWNET) == 0) from_pod = tcp_connect("10.99.0.1", 8081);
    }).join();
    EXPECT_EQ(from_pod, 0);
    EXPECT_EQ(accepted_peer(lfd.get()), "10.99.0.1");
    EXPECT_EQ(tcp_connect("127.0.0.1", 8082), ECONNREFUSED) << "a map miss does not match";
    EXPECT_EQ(tcp_connect("10.99.0.1", 8080), ECONNREFUSED) << "8080 is bound to 127.0.0.1 only";

    // Per-pod update: the forward goes, and comes back on another port.
    ASSERT_OK(fw->update(std::vector<PortForward>{{Proto::tcp, "", 9090, "10.99.0.2", 80}},
                         std::vector<PortForward>{rs.forwards[0]}));
    EXPECT_EQ(tcp_connect("127.0.0.1", 8080), ECONNREFUSED);
    EXPECT_EQ(tcp_connect("127.0.0.1", 9090), 0);
    EXPECT_EQ(accepted_peer(lfd.get()), "10.99.0.1");
  }));
}

}  // namespace
}  // namespace podns::fw
