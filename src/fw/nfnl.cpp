#include "fw/nfnl.hpp"

#include <libnftnl/common.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>
#include <time.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace podns::fw {
namespace {

// nf_tables dumps fill skbs up to the reader's buffer size (up to 32 KiB): read with as much, or
// a message is truncated.
constexpr std::size_t kReadBuffer = 32768;

// Room for the error replies of a large failing batch (each error is its own message): 1 MiB is
// about a thousand. Raising it past rmem_max needs CAP_NET_ADMIN, which nf_tables needs anyway.
constexpr int kReceiveBuffer = 1 << 20;
// Below this many messages the default receive buffer (rmem_default, ~200 KiB) holds every error.
constexpr std::size_t kErrorsInDefaultBuffer = 64;

}  // namespace

Error nfnl_error(int err) {
  // nfnetlink checks the capability before anything else, for every message.
  if (err == EPERM) return Error::from_errno(err, "nf_tables needs CAP_NET_ADMIN in this network namespace");
  return Error::from_errno(err, "");
}

// --- Batch ---

Batch::Batch(std::uint32_t first_seq) : begin_seq_(first_seq), last_seq_(first_seq), next_seq_(first_seq) {
  char* tail = reserve_tail();
  nlmsghdr* nlh = nftnl_batch_begin(tail, next_seq_++);
  size_ += NLMSG_ALIGN(nlh->nlmsg_len);
}

char* Batch::reserve_tail() {
  if (buf_.size() < size_ + kMaxMessage) buf_.resize(std::max(buf_.size() * 2, size_ + kMaxMessage));
  std::memset(buf_.data() + size_, 0, kMaxMessage);
  return buf_.data() + size_;
}

std::uint32_t Batch::commit_tail(const nlmsghdr* nlh) {
  last_offset_ = size_;
  size_ += NLMSG_ALIGN(nlh->nlmsg_len);
  last_seq_ = next_seq_++;
  return last_seq_;
}

void Batch::finish() {
  if (last_seq_ != begin_seq_) reinterpret_cast<nlmsghdr*>(buf_.data() + last_offset_)->nlmsg_flags |= NLM_F_ACK;
  char* tail = reserve_tail();
  nlmsghdr* nlh = nftnl_batch_end(tail, next_seq_++);
  size_ += NLMSG_ALIGN(nlh->nlmsg_len);
}

// --- NfnlSocket ---

NfnlSocket::NfnlSocket(std::unique_ptr<mnl_socket, MnlSocketClose> sock, std::uint32_t portid)
    : sock_(std::move(sock)), portid_(portid), seq_(static_cast<std::uint32_t>(::time(nullptr))), rbuf_(kReadBuffer) {}

Result<NfnlSocket> NfnlSocket::open() {
  std::unique_ptr<mnl_socket, MnlSocketClose> sock(mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC));
  if (!sock) return fail_errno("open a netfilter netlink socket");
  if (mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0) return fail_errno("bind a netfilter netlink socket");
  int fd = mnl_socket_get_fd(sock.get());
  // Errors carry only the failed message's header, not the whole message back.
  int one = 1;
  ::setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  std::uint32_t portid = mnl_socket_get_portid(sock.get());
  return NfnlSocket(std::move(sock), portid);
}

void NfnlSocket::drain() {
  int fd = mnl_socket_get_fd(sock_.get());
  for (;;) {
    ssize_t n = ::recv(fd, rbuf_.data(), rbuf_.size(), MSG_DONTWAIT);
    if (n > 0 || (n < 0 && (errno == EINTR || errno == ENOBUFS))) continue;
    return;
  }
}

Result<std::vector<MessageError>> NfnlSocket::transact(const Batch& batch) {
  if (dirty_) drain();
  dirty_ = true;
  seq_ = batch.next_seq();
  int fd = mnl_socket_get_fd(sock_.get());
  auto bytes = batch.bytes();
  // Socket options only for large batches: each syscall counts on the per-pod path.
  if (batch.messages() > kErrorsInDefaultBuffer && !rcvbuf_raised_) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &kReceiveBuffer, sizeof kReceiveBuffer);  // best effort
    rcvbuf_raised_ = true;
  }
  ssize_t sent = mnl_socket_sendto(sock_.get(), bytes.data(), bytes.size());
  if (sent < 0 && errno == EMSGSIZE) {
    // netlink refuses a message larger than the send buffer (less 32 bytes), and a batch is one
    // message as far as sendmsg goes: grow the buffer to fit and send again.
    int want = static_cast<int>(bytes.size() + 4096);
    if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof want) < 0)
      ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof want);
    sent = mnl_socket_sendto(sock_.get(), bytes.data(), bytes.size());
  }
  if (sent < 0) return fail_errno("send an nf_tables batch");
  if (static_cast<std::size_t>(sent) != bytes.size())
    return fail_errno(EMSGSIZE, fmt::format("send an nf_tables batch: {} of {} bytes sent", sent, bytes.size()));

  // Replies come in message order, after any error of the batch itself: once the last message's
  // reply is in, everything is. Until then, EAGAIN means nothing more will come.
  std::vector<MessageError> errors;
  bool acked = false, overrun = false, last_seen = false;
  while (!last_seen) {
    ssize_t n = ::recv(fd, rbuf_.data(), rbuf_.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == ENOBUFS) {  // replies were dropped: the receive buffer overflowed
        overrun = true;
        continue;
      }
      return fail_errno("read nf_tables replies");
    }
    int left = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(rbuf_.data()); mnl_nlmsg_ok(nlh, left);
         nlh = mnl_nlmsg_next(nlh, &left)) {
      if (nlh->nlmsg_seq < batch.begin_seq() || nlh->nlmsg_seq >= batch.next_seq()) continue;  // stale
      if (nlh->nlmsg_type != NLMSG_ERROR) continue;
      if (nlh->nlmsg_seq == batch.last_seq()) last_seen = true;
      const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
      if (err->error == 0) {
        if (nlh->nlmsg_seq == batch.last_seq()) acked = true;
      } else {
        errors.push_back({nlh->nlmsg_seq, -err->error});
      }
    }
  }
  dirty_ = false;
  if (!errors.empty()) return errors;
  if (overrun) return fail_errno(ENOBUFS, "read nf_tables replies: some were lost");
  if (!acked) return fail_errno(EPROTO, "nf_tables acknowledged nothing");
  return errors;
}

Status NfnlSocket::query(const std::function<nlmsghdr*(char* buf, std::uint32_t seq)>& build, const ReplyFn& on_reply) {
  if (dirty_) drain();
  dirty_ = true;
  alignas(nlmsghdr) char req[Batch::kMaxMessage] = {};
  std::uint32_t seq = seq_++;
  nlmsghdr* nlh = build(req, seq);
  if (!(nlh->nlmsg_flags & NLM_F_DUMP)) nlh->nlmsg_flags |= NLM_F_ACK;  // the reply ends with an ack
  if (mnl_socket_sendto(sock_.get(), nlh, nlh->nlmsg_len) < 0) return fail_errno("send an nf_tables request");

  int fd = mnl_socket_get_fd(sock_.get());
  Status result;
  bool interrupted = false;
  for (bool done = false; !done;) {
    ssize_t n = ::recv(fd, rbuf_.data(), rbuf_.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("read nf_tables replies");
    }
    int left = static_cast<int>(n);
    for (auto* msg = reinterpret_cast<const nlmsghdr*>(rbuf_.data()); mnl_nlmsg_ok(msg, left);
         msg = mnl_nlmsg_next(msg, &left)) {
      if (msg->nlmsg_seq != seq || msg->nlmsg_pid != portid_) continue;  // stale
      if (msg->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
      if (msg->nlmsg_type == NLMSG_DONE) {
        done = true;
      } else if (msg->nlmsg_type == NLMSG_ERROR) {
        const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(msg));
        if (err->error != 0 && result) result = fail(nfnl_error(-err->error));
        done = true;
      } else if (result) {
        result = on_reply(msg);  // on failure, keep reading to the end so nothing is left queued
      }
    }
  }
  dirty_ = false;
  if (result && interrupted) return fail_errno(EINTR, "nf_tables dump interrupted by a concurrent change");
  return result;
}

}  // namespace podns::fw
