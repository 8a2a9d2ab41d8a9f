// Fuzz the result-cache entry parser (files libcni-based tools and crashed runs leave behind): an
// entry that parses serializes and parses back to the same entry.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "podns/cni/cache.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto e = podns::cni::parse_cache_entry(text);
  if (!e) return 0;
  auto again = podns::cni::parse_cache_entry(podns::cni::serialize_cache_entry(*e));
  if (!again || again->container_id != e->container_id || again->config != e->config ||
      again->result != e->result || again->cni_args != e->cni_args || again->netns != e->netns)
    std::abort();
  // Decoding then encoding is the identity up to the unused low bits of the last group.
  auto b = podns::cni::base64_decode(text);
  if (b) {
    auto again_b = podns::cni::base64_decode(podns::cni::base64_encode(*b));
    if (!again_b || *again_b != *b) std::abort();
  }
  return 0;
}
