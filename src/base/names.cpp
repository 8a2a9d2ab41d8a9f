#include "podns/names.hpp"

#include <sys/random.h>

#include <cctype>
#include <cstdint>
#include <string>

#include <fmt/format.h>

namespace podns {
namespace {

std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isprint(c)) out += static_cast<char>(c);
    else out += fmt::format("\\x{:02x}", c);
  }
  return out;
}

bool name_char(unsigned char c) { return std::isalnum(c) || c == '_' || c == '.' || c == '-'; }

}  // namespace

Status validate_name(std::string_view name) {
  auto bad = [&](std::string_view why) {
    return fail(Errc::invalid_name, fmt::format("name \"{}\": {}", printable(name), why));
  };
  if (name.empty()) return bad("empty");
  if (name.size() > kMaxNameLength) return bad(fmt::format("longer than {} bytes", kMaxNameLength));
  for (unsigned char c : name) {
    if (c == '/') return bad("contains '/'");
    if (!std::isprint(c)) return bad("contains a non-printable character");
    if (!name_char(c)) return bad(fmt::format("contains '{}' (allowed: letters, digits, '_', '.', '-')", char(c)));
  }
  if (!std::isalnum(static_cast<unsigned char>(name[0])))
    return bad("must start with a letter or digit");
  return {};
}

Status validate_ifname(std::string_view name) {
  auto bad = [&](std::string_view why) {
    return fail(Errc::invalid_name, fmt::format("interface name \"{}\": {}", printable(name), why));
  };
  if (name.empty()) return bad("empty");
  if (name.size() > kMaxIfnameLength) return bad(fmt::format("longer than {} bytes", kMaxIfnameLength));
  if (name == "." || name == "..") return bad("is . or ..");
  for (unsigned char c : name) {
    if (c == '/' || c == ':' || std::isspace(c) || !std::isprint(c))
      return bad("contains '/', ':', whitespace or a non-printable character");
  }
  return {};
}

std::string random_pin_name(std::string_view prefix) {
  uint8_t b[16];
  size_t got = 0;
  while (got < sizeof b) {
    ssize_t n = getrandom(b + got, sizeof b - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  b[6] = (b[6] & 0x0f) | 0x40;  // UUID version 4
  b[8] = (b[8] & 0x3f) | 0x80;  // RFC 4122 variant
  return fmt::format("{}-{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
                     prefix, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
                     b[13], b[14], b[15]);
}

}  // namespace podns
