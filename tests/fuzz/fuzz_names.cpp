// Fuzz the name validators (pod, namespace and network names; interface names): each agrees with
// the rule restated here byte by byte, a valid name is a safe single path component, and the
// message for an invalid one is printable ASCII (the CLI prints it as one line, whatever bytes the
// name held).
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "podns/names.hpp"

namespace {

bool ascii_alnum(unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$, at most 64 bytes.
bool name_rule(std::string_view s) {
  if (s.empty() || s.size() > 64 || !ascii_alnum(static_cast<unsigned char>(s[0]))) return false;
  for (unsigned char c : s)
    if (!ascii_alnum(c) && c != '_' && c != '.' && c != '-') return false;
  return true;
}

// 1..15 bytes, not "." or "..", only printable ASCII other than space, '/' and ':'.
bool ifname_rule(std::string_view s) {
  if (s.empty() || s.size() > 15 || s == "." || s == "..") return false;
  for (unsigned char c : s)
    if (c <= ' ' || c >= 0x7f || c == '/' || c == ':') return false;
  return true;
}

bool printable_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c >= 0x7f) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = podns::fuzz::as_text(data, size);

  auto name = podns::validate_name(text);
  FUZZ_CHECK(bool(name) == name_rule(text));
  if (name) {
    FUZZ_CHECK(text != "." && text != ".." && text.find('/') == std::string_view::npos);
    // A valid name is a valid network name too (networks share the rule).
    if (text.size() <= 15) FUZZ_CHECK(podns::validate_ifname(text));
  } else {
    FUZZ_CHECK(printable_ascii(name.error().what()));
  }

  auto ifname = podns::validate_ifname(text);
  FUZZ_CHECK(bool(ifname) == ifname_rule(text));
  if (!ifname) FUZZ_CHECK(printable_ascii(ifname.error().what()));

  // random_pin_name(prefix) is a valid name for every valid prefix that leaves room for the
  // 37 bytes of "-" + UUID.
  if (name && text.size() <= podns::kMaxNameLength - 37) {
    std::string pin = podns::random_pin_name(text);
    FUZZ_CHECK(podns::validate_name(pin));
    FUZZ_CHECK(pin.size() == text.size() + 37 && pin.compare(0, text.size(), text) == 0);
  }
  return 0;
}
