// The real net::Client: rtnetlink requests on one NETLINK_ROUTE socket, decoded by rtnl_parse.
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include <fcntl.h>

#include <mutex>

#include <fmt/format.h>

#include "net/netlink_socket.hpp"
#include "net/netns_socket.hpp"
#include "net/rtnl_parse.hpp"
#include "podns/names.hpp"
#include "podns/namespace.hpp"
#include "podns/net/client.hpp"

namespace podns::net {
namespace {

using detail::NetlinkSocket;

// Requests are tiny: a fixed header and at most an interface name.
struct RequestBuffer {
  alignas(nlmsghdr) char bytes[512] = {};
};

// A dump that raced with a change of the tables (NLM_F_DUMP_INTR) is started over a few times;
// after that the caller gets EAGAIN rather than a possibly inconsistent list.
constexpr int kDumpAttempts = 4;

class RtnlClient final : public Client {
 public:
  explicit RtnlClient(NetlinkSocket sock) : sock_(std::move(sock)) {}

  Result<std::vector<Link>> links() override {
    return dump<Link>("dump links", [](RequestBuffer& buf) {
      nlmsghdr* nlh = mnl_nlmsg_put_header(buf.bytes);
      nlh->nlmsg_type = RTM_GETLINK;
      nlh->nlmsg_flags = NLM_F_DUMP;
      auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
      ifi->ifi_family = AF_UNSPEC;
      return nlh;
    }, [](const nlmsghdr& m, std::vector<Link>& out) -> Status {
      auto link = detail::parse_link(m);
      if (!link) return fail(link.error());
      out.push_back(std::move(*link));
      return {};
    });
  }

  Result<Link> link(std::string_view name) override {
    const std::string what = fmt::format("get link {}", name);
    if (auto st = validate_ifname(name); !st) return fail_with(st, what);
    RequestBuffer buf;
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.bytes);
    nlh->nlmsg_type = RTM_GETLINK;
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, std::string(name).c_str());
    std::optional<Link> found;
    std::lock_guard lock(mu_);
    Status st = sock_.request(*nlh, [&](const nlmsghdr& m) -> Status {
      auto link = detail::parse_link(m);
      if (!link) return fail(link.error());
      found = std::move(*link);
      return {};
    });
    if (!st) {
      if (st.error().sys_errno() == ENODEV) return fail(Errc::not_found, fmt::format("link {}", name));
      return fail_with(st, what);
    }
    if (!found) return fail(Errc::corrupt, what + ": the kernel acked without a reply");
    return std::move(*found);
  }

  Result<std::vector<Address>> addresses(int family) override {
    return dump<Address>("dump addresses", [family](RequestBuffer& buf) {
      nlmsghdr* nlh = mnl_nlmsg_put_header(buf.bytes);
      nlh->nlmsg_type = RTM_GETADDR;
      nlh->nlmsg_flags = NLM_F_DUMP;
      auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
      ifa->ifa_family = static_cast<unsigned char>(family);
      return nlh;
    }, [family](const nlmsghdr& m, std::vector<Address>& out) -> Status {
      auto addr = detail::parse_address(m);
      if (!addr) return fail(addr.error());
      if (family == AF_UNSPEC || addr->family == family) out.push_back(std::move(*addr));
      return {};
    });
  }

  Result<std::vector<Route>> routes(int family, std::uint32_t table) override {
    return dump<Route>("dump routes", [family](RequestBuffer& buf) {
      nlmsghdr* nlh = mnl_nlmsg_put_header(buf.bytes);
      nlh->nlmsg_type = RTM_GETROUTE;
      nlh->nlmsg_flags = NLM_F_DUMP;
      auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
      rtm->rtm_family = static_cast<unsigned char>(family);
      return nlh;
    }, [family, table](const nlmsghdr& m, std::vector<Route>& out) -> Status {
      // Cached clones (IPv6 PMTU exceptions) are not routes anyone configured; `ip route` hides them.
      if (mnl_nlmsg_get_payload_len(&m) >= sizeof(rtmsg) &&
          (static_cast<const rtmsg*>(mnl_nlmsg_get_payload(&m))->rtm_flags & RTM_F_CLONED))
        return {};
      auto route = detail::parse_route(m);
      if (!route) return fail(route.error());
      if ((family == AF_UNSPEC || route->family == family) && (table == kAllTables || route->table == table))
        out.push_back(std::move(*route));
      return {};
    });
  }

 private:
  template <class T, class Build, class Collect>
  Result<std::vector<T>> dump(std::string_view what, Build build, Collect collect) {
    std::lock_guard lock(mu_);
    for (int attempt = 1;; ++attempt) {
      RequestBuffer buf;
      nlmsghdr* nlh = build(buf);
      std::vector<T> out;
      Status st = sock_.request(*nlh, [&](const nlmsghdr& m) { return collect(m, out); });
      if (st) return out;
      if (st.error().sys_errno() != EAGAIN || attempt == kDumpAttempts) return fail_with(st, what);
    }
  }

  std::mutex mu_;  // one request at a time on the socket; answers are matched by sequence number
  NetlinkSocket sock_;
};

}  // namespace

Result<std::unique_ptr<Client>> open_netlink_client() {
  auto sock = NetlinkSocket::create();
  if (!sock) return fail_with(sock, "open rtnetlink socket");
  return std::make_unique<RtnlClient>(std::move(*sock));
}

Result<std::unique_ptr<Client>> open_netlink_client_in(const Namespace& netns) {
  if (netns.type() != NamespaceType::net)
    return fail(Errc::wrong_namespace_type, "open rtnetlink socket in netns: not a network namespace");
  auto fd = detail::route_socket_in(netns.fd());
  if (!fd) return fail_with(fd, "open rtnetlink socket in netns");
  auto sock = NetlinkSocket::adopt(std::move(*fd));
  if (!sock) return fail_with(sock, "open rtnetlink socket in netns");
  return std::make_unique<RtnlClient>(std::move(*sock));
}

Result<std::unique_ptr<Client>> open_netlink_client_in(FdView netns_fd) {
  // Borrowed: check a duplicate, so the caller keeps its fd whatever happens.
  UniqueFd dup(::fcntl(netns_fd.get(), F_DUPFD_CLOEXEC, 0));
  if (!dup) return fail_errno("open rtnetlink socket in netns: duplicate netns fd");
  auto ns = Namespace::from_fd(std::move(dup), NamespaceType::net);
  if (!ns) return fail_with(ns, "open rtnetlink socket in netns");
  return open_netlink_client_in(*ns);
}

Result<std::unique_ptr<Client>> open_netlink_client_in(const std::string& netns_path) {
  auto ns = Namespace::open_path(netns_path, NamespaceType::net);
  if (!ns) return fail_with(ns, "open rtnetlink socket in netns");
  return open_netlink_client_in(*ns);
}

}  // namespace podns::net
