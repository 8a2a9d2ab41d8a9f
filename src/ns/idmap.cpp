// Id maps: parsing, validation and formatting (pure functions, unit-tested without a kernel).
#include <algorithm>
#include <charconv>
#include <cstdint>

#include <fmt/format.h>

#include "podns/idmap.hpp"

namespace podns {
namespace {

constexpr uint64_t kIdLimit = uint64_t{1} << 32;  // ids are 32 bit; 4294967295 itself is (uid_t)-1

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

Result<uint32_t> parse_u32(std::string_view s, std::string_view what) {
  s = trim(s);
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size())
    return fail(Errc::invalid_argument, fmt::format("{} \"{}\": not a number", what, s));
  if (v >= kIdLimit) return fail(Errc::invalid_argument, fmt::format("{} {}: larger than 4294967294", what, v));
  return static_cast<uint32_t>(v);
}

std::string range_text(const IdMapRange& r) { return fmt::format("{}:{}:{}", r.container_id, r.host_id, r.size); }

bool overlap(uint64_t a, uint64_t an, uint64_t b, uint64_t bn) { return a < b + bn && b < a + an; }

}  // namespace

Result<IdMap> parse_idmap(std::string_view text) {
  IdMap map;
  std::string_view rest = trim(text);
  if (rest.empty()) return fail(Errc::invalid_argument, "id map: empty (want CONTAINER:HOST:SIZE[,...])");
  while (true) {
    auto comma = rest.find(',');
    std::string_view item = trim(rest.substr(0, comma));
    auto c1 = item.find(':');
    auto c2 = c1 == std::string_view::npos ? c1 : item.find(':', c1 + 1);
    if (c2 == std::string_view::npos || item.find(':', c2 + 1) != std::string_view::npos)
      return fail(Errc::invalid_argument,
                  fmt::format("id map range \"{}\": want CONTAINER:HOST:SIZE", item));
    auto ctr = parse_u32(item.substr(0, c1), "container id");
    if (!ctr) return fail_with(ctr, fmt::format("id map range \"{}\"", item));
    auto host = parse_u32(item.substr(c1 + 1, c2 - c1 - 1), "host id");
    if (!host) return fail_with(host, fmt::format("id map range \"{}\"", item));
    auto size = parse_u32(item.substr(c2 + 1), "size");
    if (!size) return fail_with(size, fmt::format("id map range \"{}\"", item));
    map.push_back({*ctr, *host, *size});
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  if (auto s = validate_idmap(map); !s) return fail(s.error());
  return map;
}

Status validate_idmap(const IdMap& map, std::string_view what) {
  if (map.empty()) return fail(Errc::invalid_argument, fmt::format("{}: no ranges", what));
  if (map.size() > kMaxIdMapRanges)
    return fail(Errc::invalid_argument,
                fmt::format("{}: {} ranges, the kernel takes at most {}", what, map.size(), kMaxIdMapRanges));
  for (std::size_t i = 0; i < map.size(); ++i) {
    const IdMapRange& r = map[i];
    if (r.size == 0) return fail(Errc::invalid_argument, fmt::format("{}: range {}: size 0", what, range_text(r)));
    // The last mappable id is 4294967294: (uid_t)-1 means "no change" to setresuid and friends.
    if (uint64_t{r.container_id} + r.size >= kIdLimit || uint64_t{r.host_id} + r.size >= kIdLimit)
      return fail(Errc::invalid_argument,
                  fmt::format("{}: range {}: runs past the largest id 4294967294", what, range_text(r)));
    for (std::size_t j = 0; j < i; ++j) {
      const IdMapRange& o = map[j];
      if (overlap(r.container_id, r.size, o.container_id, o.size))
        return fail(Errc::invalid_argument, fmt::format("{}: ranges {} and {} overlap inside the namespace", what,
                                                        range_text(o), range_text(r)));
      if (overlap(r.host_id, r.size, o.host_id, o.size))
        return fail(Errc::invalid_argument,
                    fmt::format("{}: ranges {} and {} overlap on the host", what, range_text(o), range_text(r)));
    }
  }
  return {};
}

Status validate_idmappings(const IdMappings& maps) {
  if (maps.uid.empty() != maps.gid.empty())
    return fail(Errc::invalid_argument, maps.uid.empty() ? "gid map given without a uid map"
                                                         : "uid map given without a gid map");
  if (maps.empty()) return {};
  if (auto s = validate_idmap(maps.uid, "uid map"); !s) return s;
  return validate_idmap(maps.gid, "gid map");
}

std::string format_idmap(const IdMap& map) {
  std::string out;
  for (const auto& r : map) {
    if (!out.empty()) out += ',';
    out += range_text(r);
  }
  return out;
}

std::string kernel_idmap_text(const IdMap& map) {
  std::string out;
  for (const auto& r : map) out += fmt::format("{} {} {}\n", r.container_id, r.host_id, r.size);
  return out;
}

Result<IdMap> parse_kernel_idmap(std::string_view text) {
  IdMap map;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    std::string_view line = trim(text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (line.empty()) continue;
    uint32_t v[3];
    for (int i = 0; i < 3; ++i) {
      line = trim(line);
      auto sp = line.find_first_of(" \t");
      auto field = line.substr(0, sp);
      // The kernel prints 4294967295 for the size of the identity map of the initial namespace.
      uint64_t n = 0;
      auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), n);
      if (field.empty() || ec != std::errc() || end != field.data() + field.size() || n >= kIdLimit)
        return fail(Errc::corrupt, fmt::format("id map line \"{}\"", line));
      v[i] = static_cast<uint32_t>(n);
      line = sp == std::string_view::npos ? std::string_view{} : line.substr(sp);
    }
    map.push_back({v[0], v[1], v[2]});
  }
  return map;
}

std::optional<uint32_t> map_to_container(const IdMap& map, uint32_t host) {
  for (const auto& r : map)
    if (host >= r.host_id && uint64_t{host} < uint64_t{r.host_id} + r.size) return r.container_id + (host - r.host_id);
  return std::nullopt;
}

}  // namespace podns
