// Fuzz the address and prefix parsers of native networks (--subnet, --gateway, --ip-range, --ip,
// and every address read back from the state) and the allocation range made from them.
// The input is up to three words: SUBNET [GATEWAY [RANGE]], each also tried as an address.
// Invariants: the canonical text parses back to the same value and is its own canonical text; a
// prefix contains its first and last address, and overlap is symmetric and means containment;
// stepping an address by n and back gives it again; a range that is made lies inside its subnet
// with the gateway in it and off the network (and IPv4 broadcast) address.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "podns/network/ipam.hpp"
#include "podns/network/ip.hpp"

namespace {

using podns::network::Cidr;
using podns::network::IpAddr;
using podns::network::IpRange;

void check_addr(const IpAddr& a, int64_t step) {
  auto text = a.str();
  auto again = IpAddr::parse(text);
  FUZZ_CHECK(again && *again == a && again->str() == text);
  if (auto b = a.plus(step)) {
    FUZZ_CHECK(b->family == a.family);
    FUZZ_CHECK(step >= 0 ? a <= *b : *b < a);
    // -INT64_MIN does not exist: that one step back is taken in two.
    auto back = step != INT64_MIN ? b->plus(-step) : b->plus(INT64_MAX).and_then([](const IpAddr& x) { return x.plus(1); });
    FUZZ_CHECK(back && *back == a);
  }
}

void check_cidr(const Cidr& c) {
  auto again = Cidr::parse(c.str());
  FUZZ_CHECK(again && *again == c && again->str() == c.str());
  FUZZ_CHECK(c.contains(c.first()) && c.contains(c.last()) && c.first() <= c.last());
  FUZZ_CHECK(c.overlaps(c));
  if (c.prefix > 0) {
    // The address after the last (or before the first) is outside.
    if (auto after = c.last().plus(1)) FUZZ_CHECK(!c.contains(*after));
    if (auto before = c.first().plus(-1)) FUZZ_CHECK(!c.contains(*before));
  }
}

void check_range(const Cidr& subnet, std::optional<IpAddr> gw, std::optional<Cidr> range) {
  auto r = IpRange::make(subnet, gw, range);
  if (!r) {
    FUZZ_CHECK(r.error().is(podns::Errc::invalid_argument));
    return;
  }
  FUZZ_CHECK(r->subnet == subnet);
  for (const IpAddr* a : {&r->start, &r->end, &r->gateway}) FUZZ_CHECK(subnet.contains(*a));
  FUZZ_CHECK(r->start <= r->end);
  FUZZ_CHECK(r->gateway != subnet.first() && r->start != subnet.first());
  if (subnet.addr.family == AF_INET) FUZZ_CHECK(r->gateway != subnet.last() && r->end != subnet.last());
  if (gw) FUZZ_CHECK(r->gateway == *gw);
  if (range) FUZZ_CHECK(range->contains(r->start) && range->contains(r->end));
  // Something is left to hand out besides the gateway.
  FUZZ_CHECK(r->start != r->end || r->start != r->gateway);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = podns::fuzz::as_text(data, size);
  std::vector<std::string_view> words;
  for (size_t pos = 0; pos <= text.size() && words.size() < 3;) {
    auto sp = text.find(' ', pos);
    words.push_back(text.substr(pos, sp == std::string_view::npos ? std::string_view::npos : sp - pos));
    if (sp == std::string_view::npos) break;
    pos = sp + 1;
  }
  // A step to walk by, from the input's bytes: small, large and negative ones all come up.
  uint64_t h = 0;
  for (unsigned char c : text) h = h * 31 + c;
  auto step = static_cast<int64_t>(h);

  std::vector<std::optional<IpAddr>> addrs;
  std::vector<std::optional<Cidr>> cidrs;
  for (auto w : words) {
    auto a = IpAddr::parse(w);
    if (a) check_addr(*a, step);
    addrs.push_back(a ? std::optional<IpAddr>(*a) : std::nullopt);
    auto c = Cidr::parse(w);
    if (c) check_cidr(*c);
    cidrs.push_back(c ? std::optional<Cidr>(*c) : std::nullopt);
  }
  for (size_t i = 0; i < cidrs.size(); ++i) {
    for (size_t j = 0; j < cidrs.size(); ++j) {
      if (!cidrs[i] || !cidrs[j]) continue;
      const Cidr &a = *cidrs[i], &b = *cidrs[j];
      FUZZ_CHECK(a.overlaps(b) == b.overlaps(a));
      FUZZ_CHECK(a.overlaps(b) == (a.contains(b.addr) || b.contains(a.addr)));
    }
    for (const auto& a : addrs)
      if (cidrs[i] && a && cidrs[i]->contains(*a)) FUZZ_CHECK(cidrs[i]->first() <= *a && *a <= cidrs[i]->last());
  }
  if (!cidrs.empty() && cidrs[0]) {
    std::optional<IpAddr> gw = addrs.size() > 1 ? addrs[1] : std::nullopt;
    std::optional<Cidr> range = cidrs.size() > 2 ? cidrs[2] : std::nullopt;
    check_range(*cidrs[0], gw, range);
    check_range(*cidrs[0], std::nullopt, range);
    check_range(*cidrs[0], gw, std::nullopt);
  }
  return 0;
}
