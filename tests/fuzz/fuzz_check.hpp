// What a fuzz target uses to state an invariant: a broken one prints the condition and where,
// then aborts, so libFuzzer keeps the input as a crash and the log says which property failed.
#pragma once

#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#define FUZZ_CHECK(cond)                                                                     \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)

namespace podns::fuzz {

inline std::string_view as_text(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The integer a JSON value holds, if it is one that fits an int64 (so a reader that accepted the
// value can be checked for having kept it exactly, not truncated to its field's width).
inline std::optional<int64_t> json_integer(const nlohmann::json& j) {
  if (j.is_number_unsigned()) {
    auto v = j.get<uint64_t>();
    return v <= INT64_MAX ? std::optional<int64_t>(static_cast<int64_t>(v)) : std::nullopt;
  }
  if (j.is_number_integer()) return j.get<int64_t>();
  return std::nullopt;
}

}  // namespace podns::fuzz
