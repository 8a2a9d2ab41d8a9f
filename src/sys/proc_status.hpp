// Fields of /proc's "Key:\tvalue" files (/proc/PID/status, /proc/self/fdinfo/N). The kernel writes
// them, but a parser that throws or guesses on an unexpected line must not be what decides whether
// a process is alive or single-threaded: every failure here is an error value.
#pragma once

#include <string>
#include <string_view>

#include "podns/error.hpp"
#include "podns/parse_int.hpp"

namespace podns::sys {

// The value of the first "key:" line in `text`, without surrounding blanks; Errc::not_found when
// no line has that key.
[[nodiscard]] Result<std::string_view> status_field(std::string_view text, std::string_view key);

// status_field as an integer in `base` (parse_int's rules); a value that is no such integer fails
// with Errc::corrupt naming the key.
template <class T>
[[nodiscard]] Result<T> status_number(std::string_view text, std::string_view key, int base = 10) {
  auto field = status_field(text, key);
  if (!field) return fail(std::move(field.error()));
  auto n = parse_int<T>(*field, base);
  if (!n) return fail(Errc::corrupt, std::string(key) + ": " + n.error().what());
  return *n;
}

// The whole of a /proc file (they report size 0, so this reads to EOF, at most 64 KiB).
[[nodiscard]] Result<std::string> read_proc_file(const std::string& path);

}  // namespace podns::sys
