// SHA-512 (FIPS 180-4), private to src/cni: only for cnitool-compatible container ids, so a
// pod added with `cnitool add` can be deleted with `podns cni del` and vice versa.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace podns::cni::detail {

std::array<uint8_t, 64> sha512(std::string_view data);

}  // namespace podns::cni::detail
