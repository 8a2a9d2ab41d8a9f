// Integers out of JSON values, exactly or not at all. nlohmann's get<T>() converts whatever number
// it finds: 70000 becomes the port 4464, -1 the uid 4294967295, a pid of 2^40 another pid, and a
// float outside T's range is undefined behaviour. Readers of JSON that podns did not just make
// itself (helpers' replies, stored state) take their integers through here.
#pragma once

#include <concepts>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>

namespace podns {

// The integer `j` holds, if it is an integer (not a float, a string or a bool) that fits T.
template <std::integral T>
  requires(!std::same_as<T, bool>)
[[nodiscard]] std::optional<T> json_integer(const nlohmann::json& j) {
  if (j.is_number_unsigned()) {
    auto v = j.get<std::uint64_t>();
    if (!std::in_range<T>(v)) return std::nullopt;
    return static_cast<T>(v);
  }
  if (j.is_number_integer()) {
    auto v = j.get<std::int64_t>();
    if (!std::in_range<T>(v)) return std::nullopt;
    return static_cast<T>(v);
  }
  return std::nullopt;
}

// For readers inside a try that turns nlohmann's exceptions into Errc::corrupt: member `key` of
// `obj` as T, or the exception at() and get() would throw (out_of_range when it is missing,
// type_error when it is no integer of T's range).
template <std::integral T>
  requires(!std::same_as<T, bool>)
[[nodiscard]] T json_integer_at(const nlohmann::json& obj, const char* key) {
  const nlohmann::json& v = obj.at(key);
  auto n = json_integer<T>(v);
  if (!n)
    throw nlohmann::json::type_error::create(
        302, std::string(key) + ": not an integer in " + std::to_string(+std::numeric_limits<T>::min()) + ".." +
                 std::to_string(+std::numeric_limits<T>::max()),
        &v);
  return *n;
}

}  // namespace podns
