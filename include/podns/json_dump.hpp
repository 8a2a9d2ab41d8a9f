// JSON text that never throws. nlohmann's dump() throws type_error 316 on a string that is not
// valid UTF-8, and strings podns reports come from the kernel and the file system, which allow any
// byte but '/' and NUL in a name (`ip netns add $'bad\xff'`). Every dump goes through here.
//
// Invalid bytes are replaced with U+FFFD, as `ip -j netns list` effectively shows them; the
// output is always valid JSON and valid UTF-8. A name with such a byte therefore cannot be
// round-tripped through JSON: the text output (or the pin path on disk) has the exact bytes.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace podns {

// The JSON text of `j`: compact with indent < 0, else pretty with `indent` spaces.
template <class BasicJson>
[[nodiscard]] std::string json_dump(const BasicJson& j, int indent = -1) {
  return j.dump(indent, ' ', /*ensure_ascii=*/false, BasicJson::error_handler_t::replace);
}

}  // namespace podns
