#include "sys/netnsid.hpp"

#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace podns::sys {

Result<std::optional<int>> netns_get_nsid(FdView netns_fd) {
  UniqueFd sock(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!sock) return fail_errno("socket NETLINK_ROUTE");

  struct {
    nlmsghdr nh;
    rtgenmsg g;
    char pad[3];
    nlattr fd_attr;
    uint32_t fd;
  } req{};
  static_assert(sizeof(req.nh) + NLMSG_ALIGN(sizeof(rtgenmsg)) == offsetof(decltype(req), fd_attr));
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = RTM_GETNSID;
  req.nh.nlmsg_flags = NLM_F_REQUEST;
  req.nh.nlmsg_seq = 1;
  req.g.rtgen_family = AF_UNSPEC;
  req.fd_attr.nla_len = NLA_HDRLEN + sizeof(uint32_t);
  req.fd_attr.nla_type = NETNSA_FD;
  req.fd = static_cast<uint32_t>(netns_fd.get());

  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(sock.get(), &req, sizeof req, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
    return fail_errno("send RTM_GETNSID");

  alignas(nlmsghdr) char buf[4096];
  ssize_t n;
  do n = ::recv(sock.get(), buf, sizeof buf, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0) return fail_errno("recv RTM_GETNSID");

  for (auto* nh = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(nh, static_cast<unsigned>(n));
       nh = NLMSG_NEXT(nh, n)) {
    if (nh->nlmsg_type == NLMSG_ERROR) {
      auto* err = static_cast<nlmsgerr*>(NLMSG_DATA(nh));
      if (err->error == 0) continue;
      return fail_errno(-err->error, "RTM_GETNSID");
    }
    if (nh->nlmsg_type != RTM_NEWNSID) continue;
    int len = static_cast<int>(nh->nlmsg_len) - static_cast<int>(NLMSG_LENGTH(sizeof(rtgenmsg)));
    auto* a = reinterpret_cast<nlattr*>(static_cast<char*>(NLMSG_DATA(nh)) + NLMSG_ALIGN(sizeof(rtgenmsg)));
    for (; len >= static_cast<int>(NLA_HDRLEN) && a->nla_len >= NLA_HDRLEN && a->nla_len <= len;
         len -= NLA_ALIGN(a->nla_len), a = reinterpret_cast<nlattr*>(reinterpret_cast<char*>(a) + NLA_ALIGN(a->nla_len))) {
      if ((a->nla_type & NLA_TYPE_MASK) == NETNSA_NSID && a->nla_len >= NLA_HDRLEN + sizeof(int32_t)) {
        int32_t id;
        std::memcpy(&id, reinterpret_cast<char*>(a) + NLA_HDRLEN, sizeof id);
        if (id < 0) return std::optional<int>{};  // NETNSA_NSID_NOT_ASSIGNED
        return std::optional<int>{id};
      }
    }
    return std::optional<int>{};
  }
  return fail(Errc::corrupt, "RTM_GETNSID: no RTM_NEWNSID in the kernel's answer");
}

}  // namespace podns::sys
