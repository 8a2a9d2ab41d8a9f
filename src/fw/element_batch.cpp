#include "fw/element_batch.hpp"

#include <netinet/in.h>  // before the linux/ headers, which otherwise define in_addr too

#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <atomic>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "fw/element.hpp"
#include "fw/nftnl_ptr.hpp"

namespace podns::fw {
namespace {

std::atomic<RemoveMode> g_remove_mode{RemoveMode::destroy};

struct Op {
  const CheckedForward* forward;
  ElementBytes bytes;
  bool add;
  bool skip = false;  // DELSETELEM said it is absent
};

nlmsghdr* build_element(char* buf, std::uint32_t seq, std::uint16_t type, std::uint16_t flags,
                        const std::string& table, const Op& op) {
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET, flags, seq);
  NftnlSet set(nftnl_checked(nftnl_set_alloc()));
  nftnl_set_elem* elem = nftnl_checked(nftnl_set_elem_alloc());
  nftnl_set_set_str(set.get(), NFTNL_SET_TABLE, table.c_str());
  nftnl_set_set_str(set.get(), NFTNL_SET_NAME, op.bytes.map->name.data());  // a literal: NUL-terminated
  nftnl_set_elem_set(elem, NFTNL_SET_ELEM_KEY, op.bytes.key.data(), op.bytes.map->key_len);
  if (op.add) nftnl_set_elem_set(elem, NFTNL_SET_ELEM_DATA, op.bytes.data.data(), op.bytes.map->data_len);
  nftnl_set_elem_add(set.get(), elem);  // the set owns it now
  nftnl_set_elems_nlmsg_build_payload(nlh, set.get());
  return nlh;
}

// Whether map `name` exists in table inet `table` (ENOENT for a missing table or map).
Result<bool> map_exists(NfnlSocket& sock, const std::string& table, std::string_view name) {
  auto got = sock.query(
      [&](char* buf, std::uint32_t seq) {
        nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSET, NFPROTO_INET, 0, seq);
        NftnlSet set(nftnl_checked(nftnl_set_alloc()));
        nftnl_set_set_str(set.get(), NFTNL_SET_TABLE, table.c_str());
        nftnl_set_set_str(set.get(), NFTNL_SET_NAME, name.data());
        nftnl_set_nlmsg_build_payload(nlh, set.get());
        return nlh;
      },
      [](const nlmsghdr*) { return Status{}; });
  if (got) return true;
  if (got.error().sys_errno() == ENOENT) return false;
  return fail(got.error());
}

Error missing_map(const std::string& table, std::string_view map) {
  return Error(Errc::not_found,
               fmt::format("table inet {} or its map {} is missing (sync the table)", table, map));
}

}  // namespace

RemoveMode process_remove_mode() { return g_remove_mode.load(std::memory_order_relaxed); }

Status write_elements(NfnlSocket& sock, const std::string& table, std::span<const CheckedForward> add,
                      std::span<const CheckedForward> remove, RemoveMode& mode) {
  std::vector<Op> ops;
  ops.reserve(add.size() + remove.size());
  for (const auto& f : remove) ops.push_back({&f, encode_element(f), false});  // removals first
  for (const auto& f : add) ops.push_back({&f, encode_element(f), true});
  if (ops.empty()) return {};

  bool probing = false;  // this round tries DELSETELEM because destroy got EINVAL
  // Each round either succeeds, fails, or drops at least one absent element (or switches mode
  // once), so this bound is never the reason to stop in practice.
  for (std::size_t round = 0; round < ops.size() + 3; ++round) {
    Batch batch(sock.next_seq());
    std::vector<std::size_t> op_of_seq;  // seq - begin_seq - 1 -> index in ops
    for (std::size_t i = 0; i < ops.size(); ++i) {
      const Op& op = ops[i];
      if (op.skip) continue;
      batch.add([&](char* buf, std::uint32_t seq) {
        if (op.add)
          return build_element(buf, seq, NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL, table, op);
        std::uint16_t type = mode == RemoveMode::destroy ? kMsgDestroySetElem : std::uint16_t{NFT_MSG_DELSETELEM};
        return build_element(buf, seq, type, 0, table, op);
      });
      op_of_seq.push_back(i);
    }
    if (op_of_seq.empty()) return {};  // everything left was removals of absent elements
    batch.finish();

    auto errors = sock.transact(batch);
    if (!errors) return fail(errors.error());
    if (errors->empty()) {
      if (probing) g_remove_mode.store(RemoveMode::del, std::memory_order_relaxed);
      return {};
    }

    std::optional<Error> real;
    bool destroy_unknown = false, del_invalid = false;
    std::vector<std::size_t> absent;
    for (const MessageError& e : *errors) {
      std::size_t pos = e.seq - batch.begin_seq() - 1;
      if (e.seq <= batch.begin_seq() || pos >= op_of_seq.size()) {  // the batch itself failed
        if (!real) real = nfnl_error(e.error);
        continue;
      }
      std::size_t i = op_of_seq[pos];
      const Op& op = ops[i];
      if (!op.add && mode == RemoveMode::destroy && e.error == EINVAL) {
        destroy_unknown = true;
        continue;
      }
      if (!op.add && mode == RemoveMode::del && e.error == ENOENT) {
        absent.push_back(i);
        continue;
      }
      if (!op.add && e.error == EINVAL) del_invalid = true;
      if (real) {
        continue;  // report the first failure
      } else if (op.add && e.error == EEXIST) {
        real = Error(Errc::already_exists, fmt::format("add {}: map {} has that protocol, host address and port",
                                                       describe(*op.forward), op.bytes.map->name));
      } else if (e.error == ENOENT) {
        real = missing_map(table, op.bytes.map->name);
      } else {
        real = Error::from_errno(e.error, fmt::format("{} {}", op.add ? "add" : "remove", describe(*op.forward)));
      }
    }
    if (probing) {
      probing = false;
      // EINVAL from DELSETELEM too: the kernel knows destroy and the element itself is wrong.
      if (del_invalid) mode = RemoveMode::destroy;
      else g_remove_mode.store(RemoveMode::del, std::memory_order_relaxed);
    }
    if (real) return fail(std::move(*real));
    if (destroy_unknown) {  // Linux < 6.3: no NFT_MSG_DESTROYSETELEM
      mode = RemoveMode::del;
      probing = true;
      continue;
    }
    // DELSETELEM's ENOENT: the element is absent, or its map (or the table) is.
    std::set<std::string_view> maps;
    for (std::size_t i : absent) maps.insert(ops[i].bytes.map->name);
    for (std::string_view map : maps) {
      auto exists = map_exists(sock, table, map);
      if (!exists) return fail_with(exists, fmt::format("look up map {}", map));
      if (!*exists) return fail(missing_map(table, map));
    }
    for (std::size_t i : absent) ops[i].skip = true;
  }
  return fail_errno(EAGAIN, "nf_tables kept refusing the elements' removal");
}

}  // namespace podns::fw
