#include "sys/proc_status.hpp"

#include "podns/read_file.hpp"

namespace podns::sys {

Result<std::string_view> status_field(std::string_view text, std::string_view key) {
  while (!text.empty()) {
    auto eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    if (line.size() > key.size() && line.starts_with(key) && line[key.size()] == ':')
      return trim_blanks(line.substr(key.size() + 1));
  }
  return fail(Errc::not_found, "no \"" + std::string(key) + ":\" line");
}

Result<std::string> read_proc_file(const std::string& path) {
  return read_regular_file(path, 64 * 1024, Errc::corrupt);
}

}  // namespace podns::sys
