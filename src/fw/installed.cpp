#include "fw/installed.hpp"

#include <netinet/in.h>  // before the linux/ headers, which otherwise define in_addr too

#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <tuple>

#include <fmt/format.h>

#include "fw/element.hpp"
#include "fw/layout.hpp"
#include "fw/nftnl_ptr.hpp"

namespace podns::fw {
namespace {

std::string_view family_name(std::uint32_t family) {
  switch (family) {
    case NFPROTO_IPV4: return "ip";
    case NFPROTO_IPV6: return "ip6";
    case NFPROTO_INET: return "inet";
    case NFPROTO_BRIDGE: return "bridge";
    case NFPROTO_ARP: return "arp";
    case NFPROTO_NETDEV: return "netdev";
  }
  return "unknown";
}

Result<bool> table_exists(NfnlSocket& sock, const std::string& table) {
  auto got = sock.query(
      [&](char* buf, std::uint32_t seq) {
        nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_INET, 0, seq);
        NftnlTable t(nftnl_checked(nftnl_table_alloc()));
        nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, table.c_str());
        nftnl_table_nlmsg_build_payload(nlh, t.get());
        return nlh;
      },
      [](const nlmsghdr*) { return Status{}; });
  if (got) return true;
  if (got.error().sys_errno() == ENOENT) return false;
  return fail_with(got, "get table inet " + table);
}

struct ChainSeen {
  bool base = false;
};

// Chains of `family` (NFPROTO_UNSPEC: every family), only those of `table` when it is non-empty.
Status dump_chains(NfnlSocket& sock, std::uint16_t family, const std::string& table,
                   const std::function<void(nftnl_chain*)>& each) {
  return sock.query(
      [&](char* buf, std::uint32_t seq) {
        nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, family, NLM_F_DUMP, seq);
        if (!table.empty()) {
          NftnlChain c(nftnl_checked(nftnl_chain_alloc()));
          nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, table.c_str());
          nftnl_chain_nlmsg_build_payload(nlh, c.get());
        }
        return nlh;
      },
      [&](const nlmsghdr* nlh) -> Status {
        NftnlChain c(nftnl_checked(nftnl_chain_alloc()));
        if (nftnl_chain_nlmsg_parse(nlh, c.get()) < 0) return fail(Errc::corrupt, "unparseable chain message");
        each(c.get());
        return {};
      });
}

struct SetSeen {
  std::uint32_t key_len = 0, data_len = 0;
};

Status dump_sets(NfnlSocket& sock, const std::string& table, std::map<std::string, SetSeen>& out) {
  return sock.query(
      [&](char* buf, std::uint32_t seq) {
        nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSET, NFPROTO_INET, NLM_F_DUMP, seq);
        NftnlSet s(nftnl_checked(nftnl_set_alloc()));
        nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, table.c_str());
        nftnl_set_nlmsg_build_payload(nlh, s.get());
        return nlh;
      },
      [&](const nlmsghdr* nlh) -> Status {
        NftnlSet s(nftnl_checked(nftnl_set_alloc()));
        if (nftnl_set_nlmsg_parse(nlh, s.get()) < 0) return fail(Errc::corrupt, "unparseable set message");
        const char* name = nftnl_set_get_str(s.get(), NFTNL_SET_NAME);
        const char* owner = nftnl_set_get_str(s.get(), NFTNL_SET_TABLE);
        if (!name || !owner || table != owner) return {};
        SetSeen seen;
        seen.key_len = nftnl_set_get_u32(s.get(), NFTNL_SET_KEY_LEN);
        if (nftnl_set_is_set(s.get(), NFTNL_SET_DATA_LEN)) seen.data_len = nftnl_set_get_u32(s.get(), NFTNL_SET_DATA_LEN);
        out[name] = seen;
        return {};
      });
}

using ElementFn = std::function<Status(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data)>;

Status dump_elements(NfnlSocket& sock, const std::string& table, std::string_view set_name, const ElementFn& each) {
  return sock.query(
      [&](char* buf, std::uint32_t seq) {
        nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_DUMP, seq);
        NftnlSet s(nftnl_checked(nftnl_set_alloc()));
        nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, table.c_str());
        nftnl_set_set_str(s.get(), NFTNL_SET_NAME, set_name.data());  // a literal: NUL-terminated
        nftnl_set_elems_nlmsg_build_payload(nlh, s.get());
        return nlh;
      },
      [&](const nlmsghdr* nlh) -> Status {
        NftnlSet s(nftnl_checked(nftnl_set_alloc()));
        if (nftnl_set_elems_nlmsg_parse(nlh, s.get()) < 0) return fail(Errc::corrupt, "unparseable element message");
        auto* iter = nftnl_checked(nftnl_set_elems_iter_create(s.get()));
        Status st;
        for (nftnl_set_elem* e = nftnl_set_elems_iter_next(iter); e && st; e = nftnl_set_elems_iter_next(iter)) {
          std::uint32_t klen = 0, dlen = 0;
          auto* key = static_cast<const std::uint8_t*>(nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen));
          auto* data = static_cast<const std::uint8_t*>(nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &dlen));
          st = each({key, key ? klen : 0}, {data, data ? dlen : 0});
        }
        nftnl_set_elems_iter_destroy(iter);
        return st;
      });
}

Result<Installed> read_once(NfnlSocket& sock, const std::string& table) {
  Installed out;
  auto exists = table_exists(sock, table);
  if (!exists) return fail(exists.error());
  if (!*exists) return out;
  out.table = true;

  std::map<std::string, ChainSeen> chains;
  auto got = dump_chains(sock, NFPROTO_INET, table, [&](nftnl_chain* c) {
    const char* owner = nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE);
    const char* name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
    if (owner && name && table == owner) chains[name].base = nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM);
  });
  if (!got) return fail_with(got, "list chains");
  std::map<std::string, SetSeen> sets;
  if (got = dump_sets(sock, table, sets); !got) return fail_with(got, "list sets");

  bool complete = true;
  for (const auto& want : layout::kChains) {
    auto it = chains.find(std::string(want.name));
    complete = complete && it != chains.end() && it->second.base == want.base;
  }
  auto bridges = sets.find(std::string(layout::kBridgesSet));
  complete = complete && bridges != sets.end() && bridges->second.key_len == layout::kIfnameLen;
  if (bridges != sets.end() && bridges->second.key_len == layout::kIfnameLen) {
    got = dump_elements(sock, table, layout::kBridgesSet, [&](auto key, auto) {
      auto* text = reinterpret_cast<const char*>(key.data());
      out.bridges.emplace_back(text, strnlen(text, key.size()));
      return Status{};
    });
    if (!got) return fail_with(got, fmt::format("list set {}", layout::kBridgesSet));
  }
  for (const auto& map : layout::kMaps) {
    auto it = sets.find(std::string(map.name));
    bool usable = it != sets.end() && it->second.key_len == map.key_len && it->second.data_len == map.data_len;
    complete = complete && usable;
    if (!usable) continue;
    got = dump_elements(sock, table, map.name, [&](auto key, auto data) -> Status {
      auto f = decode_element(map, key, data);
      if (!f) return fail(f.error());
      out.forwards.push_back(std::move(*f));
      return {};
    });
    if (!got) return fail_with(got, fmt::format("list map {}", map.name));
  }
  out.complete = complete;
  std::sort(out.bridges.begin(), out.bridges.end());
  std::sort(out.forwards.begin(), out.forwards.end(), [](const PortForward& a, const PortForward& b) {
    return std::tie(a.proto, a.host_ip, a.host_port, a.pod_ip, a.pod_port) <
           std::tie(b.proto, b.host_ip, b.host_port, b.pod_ip, b.pod_port);
  });
  return out;
}

}  // namespace

Result<Installed> read_installed(NfnlSocket& sock, const std::string& table) {
  // A dump interrupted by a concurrent change (EINTR) is read again.
  for (int attempt = 0;; ++attempt) {
    auto got = read_once(sock, table);
    if (got || attempt == 3 || got.error().sys_errno() != EINTR) return got;
  }
}

Result<std::vector<std::string>> foreign_forward_drops() {
  auto sock = NfnlSocket::open();
  if (!sock) return fail_with(sock, "look for forward chains with policy drop");
  for (int attempt = 0;; ++attempt) {
    std::vector<std::string> out;
    auto got = dump_chains(*sock, NFPROTO_UNSPEC, "", [&](nftnl_chain* c) {
      if (!nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM) || !nftnl_chain_is_set(c, NFTNL_CHAIN_POLICY)) return;
      std::uint32_t family = nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY);
      // NF_BR_FORWARD is NF_INET_FORWARD's number too: a bridge-family drop stops pods on one bridge.
      bool forward_family = family == NFPROTO_IPV4 || family == NFPROTO_IPV6 || family == NFPROTO_INET ||
                            family == NFPROTO_BRIDGE;
      if (!forward_family || nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM) != NF_INET_FORWARD) return;
      if (nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY) != NF_DROP) return;
      const char* table = nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE);
      const char* name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
      out.push_back(fmt::format("table {} {} chain {}", family_name(family), table ? table : "?", name ? name : "?"));
    });
    if (got) {
      std::sort(out.begin(), out.end());
      return out;
    }
    if (attempt == 3 || got.error().sys_errno() != EINTR)
      return fail_with(got, "look for forward chains with policy drop");
  }
}

}  // namespace podns::fw
