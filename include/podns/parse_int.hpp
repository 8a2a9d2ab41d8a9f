// Integers from text that may be hostile: /proc files, pid files, state, flags. std::stoi and
// friends throw (and accept leading blanks and trailing garbage); these never throw and take the
// whole string or nothing.
#pragma once

#include <charconv>
#include <concepts>
#include <string>
#include <string_view>

#include "podns/error.hpp"

namespace podns {

// `text` as a T in `base` (2-36; no "0x" prefix, no sign for unsigned T, no leading '+', no
// blanks): the whole string must be the number. Empty text, trailing characters, a '-' for an
// unsigned T and values outside T's range fail with Errc::invalid_argument; callers add what the
// text was ("pid file /run/x.pid") and may map it to Errc::corrupt.
template <std::integral T>
  requires(!std::same_as<T, bool>)
[[nodiscard]] Result<T> parse_int(std::string_view text, int base = 10) {
  // Quote at most a short prefix: the text may be a whole garbled file.
  auto quoted = [&] {
    constexpr std::size_t kMaxShown = 32;
    std::string q = "\"";
    q.append(text.substr(0, kMaxShown));
    if (text.size() > kMaxShown) q += "...";
    q += '"';
    return q;
  };
  if (text.empty()) return fail(Errc::invalid_argument, "empty text where a number was expected");
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec == std::errc::result_out_of_range) return fail(Errc::invalid_argument, quoted() + " is out of range");
  if (ec != std::errc() || end != text.data() + text.size())
    return fail(Errc::invalid_argument,
                quoted() + (base == 16 ? " is not a hexadecimal integer" : base == 10 ? " is not a decimal integer"
                                                                                     : " is not an integer"));
  return value;
}

// `text` without leading and trailing blanks (spaces, tabs, newlines): /proc's "Pid:\t42\n".
[[nodiscard]] constexpr std::string_view trim_blanks(std::string_view text) {
  constexpr std::string_view kBlanks = " \t\n\r\v\f";
  auto first = text.find_first_not_of(kBlanks);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kBlanks) - first + 1);
}

}  // namespace podns
