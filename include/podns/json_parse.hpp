// JSON from outside the process (config files, plugin and helper output, cache entries, rows of
// the state database) into a value, with limits. The counterpart of json_dump.hpp; never throws.
//
// nlohmann's parser is iterative, but dump(), operator== and the from_json converters recurse once
// per level: a document nested 100000 deep parses and then overflows the stack wherever it is
// printed or compared, far from where it came in. So the nesting is refused here, before the
// parse, and so is a document larger than the caller expects.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "podns/error.hpp"

namespace podns {

inline constexpr std::size_t kMaxJsonBytes = 16u << 20;
inline constexpr int kMaxJsonDepth = 64;

struct JsonLimits {
  std::size_t max_bytes = kMaxJsonBytes;
  int max_depth = kMaxJsonDepth;  // objects and arrays inside each other
  // The code of a refused document (too large, too deep, not JSON): corrupt for what podns, a
  // plugin or a helper wrote; invalid_argument for what the user hands in.
  Errc error = Errc::corrupt;
};

// `text` as a JSON value, or limits.error: "JSON document of N bytes exceeds the limit of M",
// "JSON nested deeper than D levels", "invalid JSON: <nlohmann's position and reason>".
[[nodiscard]] Result<nlohmann::json> parse_json(std::string_view text, const JsonLimits& limits = {});

// The JSON file at `path`: read_regular_file (regular files only, at most limits.max_bytes, never
// hangs on a FIFO) then parse_json. Failures name the path.
[[nodiscard]] Result<nlohmann::json> read_json_file(const std::string& path, const JsonLimits& limits = {});

}  // namespace podns
