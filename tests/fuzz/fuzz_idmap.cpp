// Fuzz the id-map parsers: the CLI form behind --userns/--map ("C:H:S[,...]"), the kernel's
// /proc/PID/uid_map text, and /etc/subuid + `auto` allocation from its ranges.
// The input is "MAP|SUBID": the part before the first '|' also runs through every parser alone.
// Invariants: what parses is valid, formats and parses back equal in both forms, maps its own
// ranges; an `auto` block carved from the subid ranges is a valid map of exactly the asked size,
// inside those ranges, clear of the ids in use.
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "podns/idmap.hpp"

namespace {

using podns::IdMap;

void check_cli_form(std::string_view text) {
  auto map = podns::parse_idmap(text);
  if (!map) return;
  FUZZ_CHECK(podns::validate_idmap(*map));
  FUZZ_CHECK(!map->empty() && map->size() <= podns::kMaxIdMapRanges);
  auto again = podns::parse_idmap(podns::format_idmap(*map));
  FUZZ_CHECK(again && *again == *map);
  auto kernel = podns::parse_kernel_idmap(podns::kernel_idmap_text(*map));
  FUZZ_CHECK(kernel && *kernel == *map);
  for (const auto& r : *map) {
    FUZZ_CHECK(podns::map_to_container(*map, r.host_id) == r.container_id);
    FUZZ_CHECK(podns::map_to_container(*map, r.host_id + (r.size - 1)) == r.container_id + (r.size - 1));
  }
}

void check_kernel_form(std::string_view text) {
  auto map = podns::parse_kernel_idmap(text);
  if (!map) return;
  // Read back from the kernel, so not necessarily a map podns would write; it still round-trips.
  auto again = podns::parse_kernel_idmap(podns::kernel_idmap_text(*map));
  FUZZ_CHECK(again && *again == *map);
}

void check_auto(std::string_view in_use_text, std::string_view subid_text) {
  auto ranges = podns::parse_subid_file(subid_text);
  if (!ranges) return;
  IdMap in_use;
  if (auto m = podns::parse_idmap(in_use_text)) in_use = std::move(*m);
  uint64_t total = 0;
  for (const auto& r : *ranges) total += r.count;
  for (uint64_t want : {uint64_t{1}, uint64_t{65536}, total / 2 + 1, total}) {
    if (want == 0 || want > UINT32_MAX) continue;
    auto size = static_cast<uint32_t>(want);
    auto map = podns::allocate_idmap(*ranges, size, in_use);
    if (!map) {
      FUZZ_CHECK(map.error().is(podns::Errc::not_found) || map.error().is(podns::Errc::invalid_argument));
      continue;
    }
    FUZZ_CHECK(podns::validate_idmap(*map, "auto map"));
    uint64_t got = 0;
    for (const auto& r : *map) {
      FUZZ_CHECK(r.container_id == got);  // container ids 0..size-1 in order
      got += r.size;
      for (const auto& b : in_use)
        FUZZ_CHECK(uint64_t{r.host_id} + r.size <= b.host_id || uint64_t{b.host_id} + b.size <= r.host_id);
    }
    FUZZ_CHECK(got == size);
    // A caller whose own id is none of these may map what was carved out for it.
    FUZZ_CHECK(podns::check_idmap_allowed(*map, UINT32_MAX, *ranges));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = podns::fuzz::as_text(data, size);
  auto bar = text.find('|');
  std::string_view head = text.substr(0, bar);
  std::string_view tail = bar == std::string_view::npos ? std::string_view{} : text.substr(bar + 1);
  check_cli_form(head);
  check_kernel_form(head);
  check_auto(head, tail.empty() ? head : tail);
  return 0;
}
