// podns::fw::Firewall: checks its input, then hands the whole table to libnftables (sync) or the
// elements to one libnftnl batch (update). See docs/fw.md.
#include "podns/fw/firewall.hpp"

#include <netinet/in.h>  // before the linux/ headers, which otherwise define in_addr too
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <libnftnl/common.h>
#include <linux/netfilter/nf_tables.h>

#include <fmt/format.h>

#include "fw/element_batch.hpp"
#include "fw/installed.hpp"
#include "fw/layout.hpp"
#include "fw/nfnl.hpp"
#include "fw/nft_loader.hpp"
#include "fw/script.hpp"
#include "fw/validate.hpp"
#include "podns/fd.hpp"

namespace podns::fw {
namespace {

// Whether the calling thread is in the network namespace `sock` lives in. libnftables opens its
// own socket in the caller's, so sync() checks (SIOCGSKNS: the socket's netns as an fd). When it
// cannot be told (no /proc, an old kernel), assume so.
bool in_socket_netns(const NfnlSocket& sock) {
  UniqueFd ns(::ioctl(sock.fd(), SIOCGSKNS));
  struct stat theirs {}, ours {};
  if (!ns || ::fstat(ns.get(), &theirs) != 0 || ::stat("/proc/thread-self/ns/net", &ours) != 0) return true;
  return theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino;
}

// One cheap request (the ruleset generation) that nf_tables refuses exactly when it would refuse
// everything else: no CAP_NET_ADMIN, no nf_tables in the kernel.
Status probe_nf_tables(NfnlSocket& sock) {
  return sock.query(
      [](char* buf, std::uint32_t seq) { return nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, 0, seq); },
      [](const nlmsghdr*) { return Status{}; });
}

}  // namespace

std::string_view to_string(Proto p) {
  const layout::ProtoInfo* info = layout::proto_info(p);
  return info ? info->name : "?";
}

Result<Proto> parse_proto(std::string_view s) {
  for (const auto& p : layout::kProtos)
    if (p.name == s) return p.proto;
  return fail(Errc::invalid_argument, fmt::format("protocol \"{}\": not tcp, udp or sctp", s));
}

struct Firewall::Impl {
  std::string table;
  NfnlSocket sock;
  RemoveMode remove_mode;
  bool removed_elements = false;
};

Firewall::Firewall(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Firewall::Firewall(Firewall&&) noexcept = default;
Firewall& Firewall::operator=(Firewall&&) noexcept = default;
Firewall::~Firewall() = default;

Result<Firewall> Firewall::open(std::string table) {
  if (auto ok = validate_table_name(table); !ok) return fail_with(ok, "open firewall");
  auto sock = NfnlSocket::open();
  if (!sock) return fail_with(sock, fmt::format("open firewall table inet {}", table));
  return Firewall(std::unique_ptr<Impl>(
      new Impl{std::move(table), std::move(*sock), process_remove_mode()}));
}

const std::string& Firewall::table() const { return impl_->table; }

Status Firewall::sync(const Ruleset& rs) {
  std::string doing = fmt::format("sync table inet {}", impl_->table);
  auto checked = check_ruleset(rs);
  if (!checked) return fail_with(checked, doing);
  if (!in_socket_netns(impl_->sock))
    return fail(Errc::unsupported, doing + ": called in another network namespace than open() was; libnftables "
                                           "works in the caller's");
  // Ask the kernel first, through our own socket: without CAP_NET_ADMIN libnftables 1.0.6 prints
  // "(you must be root)" on stderr before it fails, and a library must not print.
  if (auto ok = probe_nf_tables(impl_->sock); !ok) return fail_with(ok, doing);
  if (auto ok = load_nft_script(script_text(impl_->table, *checked)); !ok) return fail_with(ok, doing);
  return {};
}

Status Firewall::update(std::span<const PortForward> add, std::span<const PortForward> remove) {
  std::string doing = fmt::format("update forwards in table inet {}", impl_->table);
  auto adds = check_forwards(add, "add", true);
  if (!adds) return fail_with(adds, doing);
  auto removes = check_forwards(remove, "remove", false);
  if (!removes) return fail_with(removes, doing);
  if (auto ok = write_elements(impl_->sock, impl_->table, *adds, *removes, impl_->remove_mode); !ok)
    return fail_with(ok, doing);
  if (!removes->empty()) impl_->removed_elements = true;
  return {};
}

bool Firewall::removed_elements() const { return impl_->removed_elements; }

FdView Firewall::socket() const { return FdView(impl_->sock.fd()); }

Result<Installed> Firewall::installed() {
  auto got = read_installed(impl_->sock, impl_->table);
  if (!got) return fail_with(got, fmt::format("read table inet {}", impl_->table));
  return got;
}

}  // namespace podns::fw
