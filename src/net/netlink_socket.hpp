// A NETLINK_ROUTE socket that sends one request at a time and reads its answer: every reply of a
// dump up to NLMSG_DONE, or the reply and the ack of a plain request. Private to the net layer.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "podns/error.hpp"
#include "podns/fd.hpp"

namespace podns::net::detail {

class NetlinkSocket {
 public:
  // Create a socket in the calling thread's network namespace.
  [[nodiscard]] static Result<NetlinkSocket> create();
  // Bind and configure a socket created elsewhere (e.g. on a thread inside another netns).
  [[nodiscard]] static Result<NetlinkSocket> adopt(UniqueFd fd);

  NetlinkSocket(NetlinkSocket&&) = default;
  NetlinkSocket& operator=(NetlinkSocket&&) = default;

  using MessageFn = std::function<Status(const nlmsghdr&)>;
  // Send `request` (nlmsg_len, type and flags filled in by the caller; NLM_F_REQUEST, sequence
  // number and, for non-dumps, NLM_F_ACK are set here) and call on_message for every data reply.
  // A failing on_message stops the calls, but the rest of the answer is still read, so the next
  // request starts on a clean socket. A dump that the kernel marks NLM_F_DUMP_INTR (the tables
  // changed under it) fails with EAGAIN: the caller may start it over.
  [[nodiscard]] Status request(nlmsghdr& request, const MessageFn& on_message);

  FdView fd() const noexcept { return fd_.view(); }

 private:
  explicit NetlinkSocket(UniqueFd fd) : fd_(std::move(fd)) {}

  UniqueFd fd_;
  std::uint32_t portid_ = 0;
  std::uint32_t seq_ = 0;
  std::vector<char> buf_;
};

// The socket(2) call itself, CLOEXEC from birth. The netns it lands in is the calling thread's.
[[nodiscard]] Result<UniqueFd> open_route_socket();

}  // namespace podns::net::detail
