// Fuzz the plugin result parser and the version conversion: a result that parses converts to every
// supported version and parses back to the same model (minus fields the target version lacks).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "podns/cni/types.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = podns::cni::parse_result_text(text, "1.0.0");
  if (!r) return 0;
  for (auto v : podns::cni::supported_versions()) {
    auto j = r->to_json(v);
    if (!j) std::abort();
    auto back = podns::cni::parse_result(*j);
    if (!back) std::abort();
    if (back->ips.size() != r->ips.size() || back->interfaces.size() != r->interfaces.size() ||
        back->routes.size() != r->routes.size())
      std::abort();
    if (v == "1.1.0") {
      auto expect = *r;
      expect.cni_version = "1.1.0";
      if (!(*back == expect)) std::abort();
    }
  }
  return 0;
}
