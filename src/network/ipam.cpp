#include "podns/network/ipam.hpp"

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

#include "network/ip_int.hpp"

namespace podns::network {

using detail::from_int;
using detail::host_mask;
using detail::to_int;

Result<IpRange> IpRange::make(const Cidr& subnet, std::optional<IpAddr> gateway, std::optional<Cidr> ip_range) {
  auto bad = [&](std::string_view why) {
    return fail(Errc::invalid_argument, fmt::format("subnet {}: {}", subnet.str(), why));
  };
  const int family = subnet.addr.family;
  const bool v4 = family == AF_INET;
  // Host bits of a hand-made Cidr are cleared, so the network address is the first one.
  Cidr net{from_int(family, to_int(subnet.addr) & ~host_mask(family, subnet.prefix)), subnet.prefix};
  if (net.addr.bits() - net.prefix < 2)
    return bad(fmt::format("too small for a gateway and one pod (the smallest is /{})", net.addr.bits() - 2));
  // Never handed out: the network address (IPv6: the subnet-router anycast address) and the
  // IPv4 broadcast.
  const IpAddr first_host = *net.first().plus(1);
  const IpAddr last_host = v4 ? *net.last().plus(-1) : net.last();

  IpRange r;
  r.subnet = net;
  r.gateway = gateway.value_or(first_host);
  if (r.gateway.family != family)
    return bad(fmt::format("gateway {} is not an IPv{} address", r.gateway.str(), v4 ? 4 : 6));
  if (!net.contains(r.gateway)) return bad(fmt::format("gateway {} is outside the subnet", r.gateway.str()));
  if (r.gateway < first_host || r.gateway > last_host)
    return bad(fmt::format("gateway {} is the {} address", r.gateway.str(),
                           r.gateway == net.first() ? "network" : "broadcast"));

  r.start = first_host;
  r.end = last_host;
  if (ip_range) {
    if (ip_range->addr.family != family || ip_range->prefix < net.prefix || !net.contains(ip_range->addr))
      return bad(fmt::format("range {} is outside the subnet", ip_range->str()));
    r.start = std::max(ip_range->first(), first_host);
    r.end = std::min(ip_range->last(), last_host);
    // A /32 on the network address, or one that is only the gateway.
    if (r.start > r.end || (r.start == r.end && r.start == r.gateway))
      return bad(fmt::format("range {} has no address to hand out", ip_range->str()));
  }
  return r;
}

std::uint64_t IpRange::capacity() const {
  if (start.family != end.family || end < start) return 0;
  const detail::u128 n = to_int(end) - to_int(start) + 1 - (start <= gateway && gateway <= end ? 1 : 0);
  return n > UINT64_MAX ? UINT64_MAX : static_cast<std::uint64_t>(n);
}

Result<IpAddr> allocate(state::Store& store, const std::string& network, const IpRange& range,
                        const std::string& pod, int index, std::optional<IpAddr> requested) {
  const auto doing = fmt::format("allocate an address in {} of network {} for pod {}", range.key(), network, pod);
  const auto in_range = [&](const IpAddr& a) {
    return a.family == range.start.family && range.start <= a && a <= range.end;
  };
  const auto next = [&](const IpAddr& a) { return a == range.end ? range.start : *a.plus(1); };
  // A range read back from a stored definition did not come through make(): stepping from start
  // to end must stay inside the family's addresses.
  if (range.start.family != range.end.family || range.end < range.start)
    return fail(Errc::invalid_argument,
                fmt::format("{}: range {}-{} is empty", doing, range.start.str(), range.end.str()));
  IpAddr got;
  // One transaction (or the caller's): the lookups and the insert see one state of the leases,
  // and the UNIQUE (network, address) key stops any other process that would take the same one.
  auto s = store.transaction([&]() -> Status {
    auto take = [&](const IpAddr& a) -> Status {
      if (auto s = store.insert_lease({network, a.str(), pod, index}); !s) return s;
      got = a;
      return {};
    };
    if (requested) {
      const IpAddr& want = *requested;
      if (!in_range(want))
        return fail(Errc::invalid_argument, fmt::format("{} is outside the range {}-{}", want.str(),
                                                        range.start.str(), range.end.str()));
      if (want == range.gateway) return fail(Errc::invalid_argument, fmt::format("{} is the gateway", want.str()));
      auto held = store.lease_of(network, want.str());
      if (!held) return fail(held.error());
      if (*held)
        return fail(Errc::already_exists, fmt::format("{} is leased to pod {}", want.str(), (*held)->pod));
      // A requested address leaves the cursor alone: the round-robin order of the others stays.
      return take(want);
    }
    // Round-robin as host-local: start after the last address handed out (a freed one is not
    // reused at once), wrap around to the start, skip what is taken. One primary-key lookup per
    // candidate: the cost follows the run of taken addresses after the cursor, not the number of
    // leases. A cursor that no longer fits the range (it was redefined) starts from the beginning.
    auto cursor = store.ipam_cursor(network, range.key());
    if (!cursor) return fail(cursor.error());
    IpAddr first = range.start;
    if (!cursor->empty()) {
      if (auto c = IpAddr::parse(*cursor); c && in_range(*c)) first = next(*c);
    }
    IpAddr candidate = first;
    do {
      if (candidate != range.gateway) {
        auto held = store.lease_of(network, candidate.str());
        if (!held) return fail(held.error());
        if (!*held) {
          if (auto s = take(candidate); !s) return s;
          return store.set_ipam_cursor(network, range.key(), candidate.str());
        }
      }
      candidate = next(candidate);
    } while (candidate != first);
    return fail_errno(EADDRNOTAVAIL,
                      fmt::format("every address of {}-{} is leased", range.start.str(), range.end.str()));
  });
  if (!s) return fail_with(s, doing);
  return got;
}

}  // namespace podns::network
