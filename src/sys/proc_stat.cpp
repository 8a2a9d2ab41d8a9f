#include "sys/proc_stat.hpp"

#include <fmt/format.h>

#include "podns/parse_int.hpp"
#include "sys/proc_status.hpp"

namespace podns::sys {

Result<uint64_t> parse_stat_start_time(std::string_view stat) {
  auto close = stat.rfind(')');
  if (close == std::string_view::npos) return fail(Errc::corrupt, "stat: no \")\" after the command name");
  std::string_view rest = stat.substr(close + 1);
  // Field 3 (state) is the first after the ')'; starttime is field 22.
  constexpr int kFieldsAfterComm = 22 - 3;
  for (int field = 0;; ++field) {
    size_t start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    size_t end = rest.find_first_of(" \n");
    std::string_view value = rest.substr(0, end);
    if (field == kFieldsAfterComm) {
      auto n = parse_int<uint64_t>(value);
      if (!n) return fail(Errc::corrupt, "stat: starttime: " + n.error().what());
      return *n;
    }
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end);
  }
  return fail(Errc::corrupt, "stat: fewer than 22 fields");
}

Result<uint64_t> process_start_time(pid_t pid) {
  std::string path = fmt::format("/proc/{}/stat", pid);
  auto text = read_proc_file(path);
  if (!text) return fail(std::move(text.error()));
  auto start = parse_stat_start_time(*text);
  if (!start) return fail_with(start, path);
  return *start;
}

}  // namespace podns::sys
