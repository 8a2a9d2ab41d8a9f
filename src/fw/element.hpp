// A forward as the kernel stores it: the key and data bytes of one element of a forward map.
// Concatenations are laid out in 32-bit registers (see layout.hpp): each field starts on a 4-byte
// boundary and the padding is zero, or the kernel's lookup (which compares whole registers) misses.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "fw/layout.hpp"
#include "fw/validate.hpp"
#include "podns/error.hpp"
#include "podns/fw/firewall.hpp"

namespace podns::fw {

struct ElementBytes {
  const layout::MapInfo* map = nullptr;
  std::array<std::uint8_t, layout::kMaxKeyLen> key{};
  std::array<std::uint8_t, layout::kMaxDataLen> data{};
  std::span<const std::uint8_t> key_bytes() const { return {key.data(), map->key_len}; }
  std::span<const std::uint8_t> data_bytes() const { return {data.data(), map->data_len}; }
};

ElementBytes encode_element(const CheckedForward& f);

// Back from the kernel's bytes; Errc::corrupt when the lengths or the protocol do not fit `map`.
[[nodiscard]] Result<PortForward> decode_element(const layout::MapInfo& map, std::span<const std::uint8_t> key,
                                                 std::span<const std::uint8_t> data);

}  // namespace podns::fw
