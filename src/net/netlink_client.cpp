// The real net::Client: rtnetlink requests on one NETLINK_ROUTE socket, encoded by rtnl_write and
// decoded by rtnl_parse.
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include <fcntl.h>
#include <sched.h>

#include <initializer_list>
#include <mutex>

#include <fmt/format.h>

#include "net/netlink_socket.hpp"
#include "net/netns_socket.hpp"
#include "net/rtnl_parse.hpp"
#include "net/rtnl_write.hpp"
#include "podns/names.hpp"
#include "podns/namespace.hpp"
#include "podns/namespace_type.hpp"
#include "podns/net/client.hpp"
#include "sys/nsfs.hpp"

namespace podns::net {
namespace {

using detail::NetlinkSocket;
using detail::RequestBuffer;

// A dump that raced with a change of the tables (NLM_F_DUMP_INTR) is started over a few times;
// after that the caller gets EAGAIN rather than a possibly inconsistent list.
constexpr int kDumpAttempts = 4;

// The kernel's two answers a caller acts on get podns's words; the kernel's text stays.
Error change_failed(const Error& e, std::string_view doing) {
  switch (e.sys_errno()) {
    case EEXIST: return Error(Errc::already_exists, e.what()).context(doing);
    case ENODEV: return Error(Errc::not_found, e.what()).context(doing);
    default: return Error(e).context(doing);
  }
}

// IFLA_NET_NS_FD must be a network namespace. The kernel answers EBADF for a closed fd and EINVAL
// for any other file or namespace type, which tells nobody what was wrong: two cheap syscalls
// (fstatfs, then NS_GET_NSTYPE, only meaningful on nsfs) say it before anything is sent.
Status check_netns_fd(FdView fd, std::string_view field) {
  if (fd.get() < 0) return fail(Errc::invalid_argument, fmt::format("{}: no file descriptor", field));
  auto magic = sys::fs_magic(fd);
  if (!magic) {
    if (magic.error().sys_errno() == EBADF)
      return fail(Errc::invalid_argument, fmt::format("{}: fd {} is not open", field, fd.get()));
    return fail_with(magic, field);
  }
  if (*magic != sys::kNsfsMagic)
    return fail(Errc::invalid_argument, fmt::format("{}: fd {} is not a namespace", field, fd.get()));
  auto flag = sys::ns_get_type(fd);
  if (!flag) return fail_with(flag, field);
  if (*flag != CLONE_NEWNET) {
    auto type = namespace_type_from_clone_flag(*flag);
    return fail(Errc::invalid_argument,
                fmt::format("{}: fd {} is a {} namespace, not a network namespace", field, fd.get(),
                            type ? to_string(*type) : std::string_view("foreign")));
  }
  return {};
}

// The ifindex in a RTM_NEWLINK about the link `name`, 0 for any other message.
int echoed_ifindex(const nlmsghdr& m, std::string_view name) {
  if (m.nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(&m) < sizeof(ifinfomsg)) return 0;
  const char* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(&m));
  auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(&m, sizeof(ifinfomsg)));
  while (mnl_attr_ok(attr, static_cast<int>(tail - reinterpret_cast<const char*>(attr)))) {
    if (mnl_attr_get_type(attr) == IFLA_IFNAME) {
      if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0 || name != mnl_attr_get_str(attr)) return 0;
      return static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(&m))->ifi_index;
    }
    attr = mnl_attr_next(attr);
  }
  return 0;
}

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

  // --- Changes: each writer validates first, so a refused request sends nothing. ---

  Result<int> create_bridge(const BridgeRequest& req) override {
    const std::string what = detail::describe(req);
    RequestBuffer buf;
    auto msg = detail::write_new_bridge(buf, req);
    if (!msg) return fail(Error(msg.error()).context(what));
    return create_link(**msg, req.name, what);
  }

  Result<int> create_veth(const VethRequest& req) override {
    const std::string what = detail::describe(req);
    RequestBuffer buf;
    auto msg = detail::write_new_veth(buf, req);
    if (!msg) return fail(Error(msg.error()).context(what));
    if (auto st = check_netns_fd(req.peer_netns, "peer_netns"); !st) return fail_with(st, what);
    auto index = create_link(**msg, req.host_name, what);
    if (!index || !req.hairpin) return index;
    RequestBuffer port;
    if (auto st = send_changes(what + ": hairpin", {detail::write_port_hairpin(port, *index)}); !st) return fail(st.error());
    return index;
  }

  Status set_link(const LinkChange& change) override {
    RequestBuffer flags_buf;
    RequestBuffer conf_buf;
    auto flags = detail::write_link_flags(flags_buf, change);
    // The settings first, in a message of their own: do_setlink() applies IFLA_AF_SPEC after the
    // flags, and the gratuitous ARP goes out (and the link-local address is made) at NETDEV_UP
    // (in one message the link comes up before the settings; tested). One more request in the
    // same send.
    Result<nlmsghdr*> conf = change.arp_notify || change.no_ipv6_link_local
                                 ? detail::write_link_conf(conf_buf, change)
                                 : Result<nlmsghdr*>(nullptr);
    return send_changes(detail::describe(change), {conf, flags});
  }

  Status add_address(const AddressRequest& req) override {
    RequestBuffer buf;
    return send_changes(detail::describe(req), {detail::write_new_address(buf, req)});
  }

  Status add_route(const RouteRequest& req) override {
    RequestBuffer buf;
    return send_changes(detail::describe(req), {detail::write_new_route(buf, req)});
  }

  Status delete_link(int index) override {
    RequestBuffer buf;
    return send_changes(detail::describe_delete_link(index), {detail::write_del_link(buf, index)});
  }

 private:
  // Send written requests in order (a null one is skipped), each answered by its ack alone; the
  // first refusal, by the writer or the kernel, ends it.
  Status send_changes(const std::string& what, std::initializer_list<Result<nlmsghdr*>> msgs) {
    for (const auto& msg : msgs)
      if (!msg) return fail(Error(msg.error()).context(what));
    std::lock_guard lock(mu_);
    for (const auto& msg : msgs) {
      if (!*msg) continue;
      Status st = sock_.request(**msg, [](const nlmsghdr&) -> Status { return {}; });
      if (!st) return fail(change_failed(st.error(), what));
    }
    return {};
  }

  // Send a RTM_NEWLINK that creates `name` and return the new link's ifindex.
  Result<int> create_link(nlmsghdr& msg, const std::string& name, std::string_view what) {
    std::lock_guard lock(mu_);
    // NLM_F_ECHO: the kernel unicasts its RTM_NEWLINK notifications of this request back to us
    // before the ack, so the ifindex comes with the answer, and it is ours, not that of a link
    // that took the name since. Measured on 6.18 (bench_net, pods made and dropped in turn), a
    // veth enslaved to a bridge: 450 us without an answer, +6 us with the echo, +240 us with a
    // RTM_GETLINK by name afterwards.
    msg.nlmsg_flags |= NLM_F_ECHO;
    int index = 0;
    Status st = sock_.request(msg, [&](const nlmsghdr& m) -> Status {
      if (index == 0) index = echoed_ifindex(m, name);
      return {};
    });
    if (!st) return fail(change_failed(st.error(), what));
    if (index > 0) return index;
    // Fallback: kernels before 6.3 ignore NLM_F_ECHO on link creation; ask by name.
    RequestBuffer buf;
    nlmsghdr* get = mnl_nlmsg_put_header(buf.bytes);
    get->nlmsg_type = RTM_GETLINK;
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(get, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(get, IFLA_IFNAME, name.c_str());
    mnl_attr_put_u32(get, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    st = sock_.request(*get, [&](const nlmsghdr& m) -> Status {
      if (index == 0) index = echoed_ifindex(m, name);
      return {};
    });
    if (!st) return fail(change_failed(st.error(), fmt::format("{}: look up the new link", what)));
    if (index <= 0) return fail(Errc::corrupt, fmt::format("{}: the kernel did not report the new link", what));
    return index;
  }

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
  auto fd = detail::route_socket_in(netns);
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
