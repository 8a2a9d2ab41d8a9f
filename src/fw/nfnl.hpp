// nf_tables over one NETLINK_NETFILTER socket (libmnl), without the nft parser: transactions
// (NFNL_MSG_BATCH_BEGIN ... END, applied whole or not at all) and GET requests/dumps.
#pragma once

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "podns/error.hpp"

namespace podns::fw {

// Not in Debian 12's kernel headers (6.1): the destroy variant of DELSETELEM, Linux 6.3+, which
// succeeds when the element is absent.
inline constexpr std::uint16_t kMsgDestroySetElem = 30;

// A transaction's messages, framed by batch begin/end. Message builders write into the buffer at
// a reserved tail (libnftnl's *_nlmsg_build_* functions), one message each.
class Batch {
 public:
  explicit Batch(std::uint32_t first_seq);
  // Appends one message; `build(buf, seq)` writes it at `buf` (at most kMaxMessage bytes) and
  // returns its header. Returns the message's sequence number.
  static constexpr std::size_t kMaxMessage = 2048;
  template <class Build>
  std::uint32_t add(Build&& build) {
    char* tail = reserve_tail();
    return commit_tail(build(tail, next_seq_));
  }
  // Closes the batch: asks the kernel to acknowledge the last message (errors of any message
  // come regardless), appends the batch end.
  void finish();

  std::span<const char> bytes() const { return {buf_.data(), size_}; }
  std::uint32_t begin_seq() const { return begin_seq_; }
  std::uint32_t last_seq() const { return last_seq_; }  // the last message's (== begin_seq(): none)
  std::uint32_t next_seq() const { return next_seq_; }
  std::size_t messages() const { return last_seq_ - begin_seq_; }

 private:
  char* reserve_tail();
  std::uint32_t commit_tail(const nlmsghdr* nlh);

  std::vector<char> buf_;
  std::size_t size_ = 0;
  std::size_t last_offset_ = 0;
  std::uint32_t begin_seq_, last_seq_, next_seq_;
};

// An errno nf_tables answered, explained where the errno alone misleads (EPERM).
Error nfnl_error(int err);

// One message's failure in a transaction.
struct MessageError {
  std::uint32_t seq = 0;
  int error = 0;  // positive errno
};

struct MnlSocketClose {
  void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};

class NfnlSocket {
 public:
  // NETLINK_NETFILTER, SOCK_CLOEXEC, bound; in the calling thread's netns.
  [[nodiscard]] static Result<NfnlSocket> open();

  std::uint32_t next_seq() const { return seq_; }
  int fd() const { return mnl_socket_get_fd(sock_.get()); }

  // Sends the whole batch in one sendmsg and collects every reply. The kernel processes a batch
  // synchronously inside sendmsg, so all replies are queued when it returns: they are read without
  // blocking. Returns the failed messages: empty means committed. A failure of the batch itself
  // (EPERM, a failed commit) is reported with seq == batch.begin_seq().
  [[nodiscard]] Result<std::vector<MessageError>> transact(const Batch& batch);

  // One GET request built by `build(buf, seq)` (NLM_F_DUMP or not); `on_reply` is called for each
  // reply message until the dump's end or the ack. The request's error is returned as errno.
  using ReplyFn = std::function<Status(const nlmsghdr*)>;
  [[nodiscard]] Status query(const std::function<nlmsghdr*(char* buf, std::uint32_t seq)>& build,
                             const ReplyFn& on_reply);

 private:
  NfnlSocket(std::unique_ptr<mnl_socket, MnlSocketClose> sock, std::uint32_t portid);
  // Reads and drops whatever an earlier, interrupted operation left queued (dirty_).
  void drain();

  std::unique_ptr<mnl_socket, MnlSocketClose> sock_;
  std::uint32_t portid_ = 0;
  std::uint32_t seq_ = 0;
  bool rcvbuf_raised_ = false;
  bool dirty_ = false;  // an operation stopped before reading all its replies
  std::vector<char> rbuf_;
};

}  // namespace podns::fw
