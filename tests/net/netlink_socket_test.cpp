// The request/answer loop on a real NETLINK_ROUTE socket: kernel errors become errno-carrying
// Errors, and a reader that gives up halfway through a dump leaves the socket clean.
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "net/netlink_socket.hpp"
#include "net/netns_socket.hpp"
#include "netns_fixture.hpp"
#include "podns/namespace.hpp"
#include "test_support.hpp"

namespace podns::net::detail {
namespace {

struct Req {
  alignas(nlmsghdr) char buf[256] = {};
  nlmsghdr* nlh;
  Req(std::uint16_t type, std::uint16_t flags, int ifindex = 0) {
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = flags;
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifi->ifi_index = ifindex;
  }
};

TEST(NetlinkSocket, KernelErrorCarriesErrno) {
  auto sock = NetlinkSocket::create();
  ASSERT_OK(sock);
  Req req(RTM_GETLINK, 0, 0x7ffffff0);  // no such ifindex
  int replies = 0;
  auto st = sock->request(*req.nlh, [&](const nlmsghdr&) -> Status { ++replies; return {}; });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().sys_errno(), ENODEV) << st.error().message();
  EXPECT_EQ(replies, 0);
  // Still usable.
  Req lo(RTM_GETLINK, 0, 1);
  EXPECT_OK(sock->request(*lo.nlh, [&](const nlmsghdr&) -> Status { ++replies; return {}; }));
  EXPECT_EQ(replies, 1);
}

TEST(NetlinkSocket, ReaderFailingMidDumpGetsItsErrorAndTheSocketStaysClean) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("unshare", "util-linux");
  PODNS_REQUIRE_TOOL("nsenter", "util-linux");
  PODNS_REQUIRE_TOOL("ip", "iproute2");
  test::TempDir dir("net");
  test::TestNetns ns(dir / "ns");
  ASSERT_TRUE(ns.ok()) << ns.error();
  // Enough links that the dump spans several messages (and several recv buffers' worth of skbs).
  for (int i = 0; i < 40; ++i)
    ASSERT_EQ(ns.ip({"link", "add", "a" + std::to_string(i), "type", "veth", "peer", "name", "b" + std::to_string(i)}), "");
  auto netns = Namespace::open_path(ns.path(), NamespaceType::net);
  ASSERT_OK(netns);
  auto fd = route_socket_in(*netns);
  ASSERT_OK(fd);
  auto sock = NetlinkSocket::adopt(std::move(*fd));
  ASSERT_OK(sock);

  Req dump(RTM_GETLINK, NLM_F_DUMP);
  int seen = 0;
  auto st = sock->request(*dump.nlh, [&](const nlmsghdr&) -> Status {
    if (++seen == 3) return fail(Errc::corrupt, "reader gave up");
    return {};
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "reader gave up: corrupt data");
  EXPECT_EQ(seen, 3);  // no calls after the failure

  // The next dump sees exactly all 81 links, none left over from the abandoned one.
  Req again(RTM_GETLINK, NLM_F_DUMP);
  int count = 0;
  ASSERT_OK(sock->request(*again.nlh, [&](const nlmsghdr& m) -> Status {
    EXPECT_EQ(m.nlmsg_type, RTM_NEWLINK);
    ++count;
    return {};
  }));
  EXPECT_EQ(count, 81);
}

}  // namespace
}  // namespace podns::net::detail
