#include "podns/json_parse.hpp"

#include <fmt/format.h>

#include "podns/read_file.hpp"

namespace podns {
namespace {

using nlohmann::json;

// The deepest nesting of `text`, counting brackets outside strings, stopping as soon as it passes
// `max_depth`. Cheap next to the parse, and it keeps a hostile document from being built at all.
bool nested_deeper_than(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > max_depth) return true;
    } else if (c == ']' || c == '}') {
      --depth;  // unbalanced text is the parser's to refuse
    }
  }
  return false;
}

}  // namespace

Result<json> parse_json(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes)
    return fail(limits.error,
                fmt::format("JSON document of {} bytes exceeds the limit of {}", text.size(), limits.max_bytes));
  if (nested_deeper_than(text, limits.max_depth))
    return fail(limits.error, fmt::format("JSON nested deeper than {} levels", limits.max_depth));
  try {
    json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (!j.is_discarded()) return j;
    // Parse again with exceptions only to get the position and reason for the message.
    json ignored = json::parse(text.begin(), text.end());
    (void)ignored;
  } catch (const json::exception& e) {
    return fail(limits.error, fmt::format("invalid JSON: {}", e.what()));
  }
  return fail(limits.error, "invalid JSON");
}

Result<json> read_json_file(const std::string& path, const JsonLimits& limits) {
  auto text = read_regular_file(path, limits.max_bytes, limits.error);
  if (!text) return fail(text.error());
  auto j = parse_json(*text, limits);
  if (!j) return fail_with(j, path);
  return j;
}

}  // namespace podns
