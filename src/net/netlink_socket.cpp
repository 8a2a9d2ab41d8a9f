#include "net/netlink_socket.hpp"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace podns::net::detail {
namespace {

// Big enough for any reply we ask for: the kernel sizes dump skbs to at most 32 KiB (less the skb
// overhead), and single RTM_NEWLINK replies without VF info are far smaller. A bigger message
// would be reported as truncated (MSG_TRUNC), never silently cut.
constexpr std::size_t kReceiveBufferSize = 64 * 1024;

// The text of an extended ack (NETLINK_EXT_ACK), e.g. "Invalid prefix for given prefix length."
std::string ext_ack_message(const nlmsghdr& nlh, const nlmsgerr& err) {
  if (!(nlh.nlmsg_flags & NLM_F_ACK_TLVS)) return {};
  // Without NLM_F_CAPPED the kernel echoes the whole request before the TLVs.
  std::size_t offset = sizeof(nlmsgerr);
  if (!(nlh.nlmsg_flags & NLM_F_CAPPED) && err.msg.nlmsg_len > sizeof(nlmsghdr))
    offset += err.msg.nlmsg_len - sizeof(nlmsghdr);
  if (offset > mnl_nlmsg_get_payload_len(&nlh)) return {};
  // libmnl's mnl_attr_for_each relies on C's implicit void* conversion; walk by hand.
  const char* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(&nlh));
  auto* attr = reinterpret_cast<const nlattr*>(static_cast<const char*>(mnl_nlmsg_get_payload(&nlh)) + offset);
  while (mnl_attr_ok(attr, static_cast<int>(tail - reinterpret_cast<const char*>(attr)))) {
    if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
      return mnl_attr_get_str(attr);
    attr = mnl_attr_next(attr);
  }
  return {};
}

Error kernel_error(int err, const std::string& ext) {
  return Error::from_errno(err, ext.empty() ? "rtnetlink" : "rtnetlink: " + ext);
}

}  // namespace

Result<UniqueFd> open_route_socket() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd) return fail_errno("socket(AF_NETLINK, NETLINK_ROUTE)");
  return fd;
}

Result<NetlinkSocket> NetlinkSocket::create() {
  auto fd = open_route_socket();
  if (!fd) return fail(fd.error());
  return adopt(std::move(*fd));
}

Result<NetlinkSocket> NetlinkSocket::adopt(UniqueFd fd) {
  // Extended acks carry the kernel's reason in words; best effort (older kernels lack them).
  int one = 1;
  (void)::setsockopt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
  (void)::setsockopt(fd.get(), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;  // nl_pid 0: the kernel picks a unique port id
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) return fail_errno("bind netlink socket");
  socklen_t len = sizeof(addr);
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) < 0)
    return fail_errno("getsockname netlink socket");
  NetlinkSocket sock(std::move(fd));
  sock.portid_ = addr.nl_pid;
  // Start from the clock so two sockets of one process do not share sequence numbers (clearer
  // traces in `nlmon`); only equality with our own request matters.
  sock.seq_ = static_cast<std::uint32_t>(::time(nullptr));
  sock.buf_.resize(kReceiveBufferSize);
  return sock;
}

Status NetlinkSocket::request(nlmsghdr& req, const MessageFn& on_message) {
  const bool dump = (req.nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
  req.nlmsg_flags |= NLM_F_REQUEST;
  if (!dump) req.nlmsg_flags |= NLM_F_ACK;
  req.nlmsg_seq = ++seq_;
  req.nlmsg_pid = 0;

  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  for (;;) {
    ssize_t n = ::sendto(fd_.get(), &req, req.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel));
    if (n >= 0) break;
    if (errno != EINTR) return fail_errno("send rtnetlink request");
  }

  Status result;  // the first failure (kernel error or on_message), kept while we drain the answer
  bool interrupted = false;
  for (;;) {
    iovec iov{buf_.data(), buf_.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ssize_t n = ::recvmsg(fd_.get(), &msg, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("receive rtnetlink reply");
    }
    if (n == 0) return fail(Errc::corrupt, "rtnetlink socket closed mid-answer");
    if (msg.msg_flags & MSG_TRUNC) return fail(Errc::corrupt, "rtnetlink reply larger than the receive buffer");

    int left = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf_.data()); mnl_nlmsg_ok(nlh, left);
         nlh = mnl_nlmsg_next(nlh, &left)) {
      // Leftovers of an earlier, abandoned answer, or a message not meant for us: skip.
      if (nlh->nlmsg_seq != seq_ || !mnl_nlmsg_portid_ok(nlh, portid_)) continue;
      if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
      if (nlh->nlmsg_type == NLMSG_ERROR) {
        if (mnl_nlmsg_get_payload_len(nlh) < sizeof(nlmsgerr))
          return fail(Errc::corrupt, "short rtnetlink error message");
        const auto& err = *static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
        if (err.error != 0 && result) result = std::unexpected(kernel_error(-err.error, ext_ack_message(*nlh, err)));
        // An error ends a dump; an error or the ack (error 0) ends a plain request.
        return result;
      }
      if (nlh->nlmsg_type == NLMSG_DONE) {
        if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
          int err = *static_cast<const int*>(mnl_nlmsg_get_payload(nlh));
          if (err < 0 && result) result = std::unexpected(kernel_error(-err, {}));
        }
        if (result && interrupted)
          return fail_errno(EAGAIN, "rtnetlink dump interrupted by a concurrent change");
        return result;
      }
      if (nlh->nlmsg_type == NLMSG_NOOP || nlh->nlmsg_type == NLMSG_OVERRUN) continue;
      if (result) {
        Status st = on_message(*nlh);
        if (!st) result = std::move(st);
      }
    }
  }
}

}  // namespace podns::net::detail
