// Fuzz the network configuration parsers (.conflist and single .conf): never crash, never accept
// a plugin type that is a path, and what is accepted re-parses to the same list.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "podns/cni/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (bool list : {true, false}) {
    auto l = list ? podns::cni::parse_network_list(text) : podns::cni::parse_network_config(text);
    if (!l) continue;
    for (auto& p : l->plugins)
      if (p.type.find('/') != std::string::npos || p.type.empty()) std::abort();
    if (!podns::cni::validate_network_name(l->name)) std::abort();
    // The bytes the cache keeps must load back as the same network.
    auto again = podns::cni::parse_network_list(l->bytes);
    if (!again || again->name != l->name || again->plugins.size() != l->plugins.size()) std::abort();
  }
  return 0;
}
