// /etc/subuid + /etc/subgid: parsing, `auto` allocation, and the check an unprivileged caller's
// maps must pass (the same rule newuidmap/newgidmap enforce, with a clearer message).
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "podns/idmap.hpp"
#include "podns/read_file.hpp"

namespace podns {
namespace {

Result<uint32_t> field_u32(std::string_view s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v > UINT32_MAX)
    return fail(Errc::corrupt, fmt::format("\"{}\" is not a number", s));
  return static_cast<uint32_t>(v);
}

// /etc/subuid or a /proc id map; a missing file is an empty one. Sites with tens of thousands of
// users keep a line each in /etc/subuid: the bound is far above that.
Result<std::string> read_file(const std::string& path) {
  auto text = read_regular_file(path, 16u << 20, Errc::corrupt);
  if (!text && text.error().sys_errno() == ENOENT) return std::string();
  return text;
}

std::string user_name(uid_t uid) {
  passwd pw{};
  passwd* found = nullptr;
  char buf[4096];
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found) return found->pw_name;
  return {};
}

// Root of a user namespace other than the initial one (a rootless podns session) hands out the
// ids of its own namespace, not /etc/subuid's (those are ids of the initial namespace, unmapped
// here): every id its /proc/self/{uid,gid}_map maps except its own 0. nullopt in the initial
// namespace (the identity map) or when the map cannot be read.
std::optional<std::vector<SubidRange>> own_namespace_ids(const char* map_file) {
  auto text = read_file(map_file);
  if (!text) return std::nullopt;
  auto map = parse_kernel_idmap(*text);
  if (!map || map->empty()) return std::nullopt;
  if (map->size() == 1 && (*map)[0].container_id == 0 && (*map)[0].host_id == 0 && (*map)[0].size == UINT32_MAX)
    return std::nullopt;
  std::vector<SubidRange> out;
  for (const auto& r : *map) {
    uint32_t start = r.container_id, count = r.size;
    if (start == 0) ++start, --count;  // our own root stays ours
    if (count) out.push_back({"root", start, count});
  }
  return out;
}

}  // namespace

Result<std::vector<SubidRange>> parse_subid_file(std::string_view content) {
  std::vector<SubidRange> out;
  std::size_t pos = 0;
  int lineno = 0;
  while (pos < content.size()) {
    auto nl = content.find('\n', pos);
    std::string_view line = content.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? content.size() : nl + 1;
    ++lineno;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    auto c1 = line.find(':');
    auto c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c1 == 0 || c2 == std::string_view::npos || line.find(':', c2 + 1) != std::string_view::npos)
      return fail(Errc::corrupt, fmt::format("line {}: want NAME:START:COUNT", lineno));
    auto start = field_u32(line.substr(c1 + 1, c2 - c1 - 1));
    if (!start) return fail_with(start, fmt::format("line {}", lineno));
    auto count = field_u32(line.substr(c2 + 1));
    if (!count) return fail_with(count, fmt::format("line {}", lineno));
    out.push_back({std::string(line.substr(0, c1)), *start, *count});
  }
  return out;
}

Result<std::vector<SubidRange>> subid_ranges_for(const std::string& path, std::string_view name, uid_t uid) {
  auto content = read_file(path);
  if (!content) return fail(content.error());
  auto all = parse_subid_file(*content);
  if (!all) return fail_with(all, path);
  std::vector<SubidRange> mine;
  std::string uid_text = std::to_string(uid);
  for (auto& r : *all)
    if ((!name.empty() && r.owner == name) || r.owner == uid_text) mine.push_back(std::move(r));
  return mine;
}

Result<IdMap> allocate_idmap(std::span<const SubidRange> allowed, uint32_t size, const IdMap& in_use) {
  if (size == 0) return fail(Errc::invalid_argument, "auto id map: size 0");
  // Walk the subordinate ranges in host order and take free ids until `size` are collected;
  // contiguous free ids become one map line, so a single free block gives a single line.
  std::vector<SubidRange> ranges(allowed.begin(), allowed.end());
  std::sort(ranges.begin(), ranges.end(), [](auto& a, auto& b) { return a.start < b.start; });
  IdMap busy = in_use;
  std::sort(busy.begin(), busy.end(), [](auto& a, auto& b) { return a.host_id < b.host_id; });
  IdMap out;
  uint64_t need = size;
  uint64_t next_ctr = 0;
  for (const auto& r : ranges) {
    uint64_t cur = r.start;
    uint64_t end = std::min<uint64_t>(uint64_t{r.start} + r.count, UINT32_MAX);
    while (cur < end && need > 0) {
      // Skip past any busy range covering cur.
      bool moved = false;
      for (const auto& b : busy) {
        if (cur >= b.host_id && cur < uint64_t{b.host_id} + b.size) {
          cur = uint64_t{b.host_id} + b.size;
          moved = true;
        }
      }
      if (moved) continue;
      uint64_t stop = end;
      for (const auto& b : busy)
        if (b.host_id > cur && b.host_id < stop) stop = b.host_id;
      uint64_t take = std::min(stop - cur, need);
      // The kernel takes at most 340 lines: free ids this scattered cannot make a map.
      if (out.size() == kMaxIdMapRanges)
        return fail(Errc::not_found, fmt::format("auto id map: {} ids would take more than {} map lines (the "
                                                 "kernel's limit): the free subordinate ids are too scattered",
                                                 size, kMaxIdMapRanges));
      out.push_back({static_cast<uint32_t>(next_ctr), static_cast<uint32_t>(cur), static_cast<uint32_t>(take)});
      // Taken ids are busy from now on: subordinate ranges may overlap (usermod -v does not look),
      // and an id handed out twice makes a map the kernel refuses.
      busy.push_back({0, static_cast<uint32_t>(cur), static_cast<uint32_t>(take)});
      next_ctr += take;
      need -= take;
      cur += take;
    }
    if (need == 0) break;
  }
  if (need > 0)
    return fail(Errc::not_found, fmt::format("auto id map: no {} free subordinate ids left (have {})", size,
                                             size - need));
  return out;
}

Status check_idmap_allowed(const IdMap& map, uint32_t caller_id, std::span<const SubidRange> allowed,
                           std::string_view what) {
  for (const auto& r : map) {
    if (r.host_id == caller_id && r.size == 1) continue;
    bool ok = std::any_of(allowed.begin(), allowed.end(), [&](const SubidRange& a) {
      return r.host_id >= a.start && uint64_t{r.host_id} + r.size <= uint64_t{a.start} + a.count;
    });
    if (!ok) {
      std::string have;
      for (const auto& a : allowed) have += fmt::format("{}{}-{}", have.empty() ? "" : ", ", a.start,
                                                        uint64_t{a.start} + a.count - 1);
      return fail(Errc::invalid_argument,
                  fmt::format("{}: host ids {}-{} are not yours to map (your subordinate ids: {}; your own id: {})",
                              what, r.host_id, uint64_t{r.host_id} + r.size - 1, have.empty() ? "none" : have,
                              caller_id));
    }
  }
  return {};
}

Result<IdMappings> auto_idmappings(uint32_t size, const IdMap& uid_in_use, const IdMap& gid_in_use,
                                   const SubidFiles& files) {
  uid_t uid = geteuid();
  std::string name = user_name(uid);
  auto uids = subid_ranges_for(files.subuid, name, uid);
  if (!uids) return fail_with(uids, "auto id map");
  auto gids = subid_ranges_for(files.subgid, name, uid);
  if (!gids) return fail_with(gids, "auto id map");
  std::string uid_source = files.subuid, gid_source = files.subgid;
  if (uid == 0 && files.subuid == SubidFiles{}.subuid && files.subgid == SubidFiles{}.subgid) {
    auto own_uids = own_namespace_ids("/proc/self/uid_map");
    auto own_gids = own_namespace_ids("/proc/self/gid_map");
    if (own_uids && own_gids) {
      *uids = std::move(*own_uids);
      *gids = std::move(*own_gids);
      uid_source = "this user namespace's uid map";
      gid_source = "this user namespace's gid map";
    }
  }
  if (uids->empty())
    return fail(Errc::not_found, fmt::format("auto id map: no subordinate uids for user {} in {}",
                                             name.empty() ? std::to_string(uid) : name, files.subuid));
  if (gids->empty())
    return fail(Errc::not_found, fmt::format("auto id map: no subordinate gids for user {} in {}",
                                             name.empty() ? std::to_string(uid) : name, files.subgid));
  IdMappings maps;
  auto u = allocate_idmap(*uids, size, uid_in_use);
  if (!u) return fail_with(u, "uids from " + uid_source);
  auto g = allocate_idmap(*gids, size, gid_in_use);
  if (!g) return fail_with(g, "gids from " + gid_source);
  maps.uid = std::move(*u);
  maps.gid = std::move(*g);
  return maps;
}

Status check_idmappings_allowed(const IdMappings& maps, const SubidFiles& files) {
  uid_t uid = geteuid();
  std::string name = user_name(uid);
  auto uids = subid_ranges_for(files.subuid, name, uid);
  if (!uids) return fail(uids.error());
  auto gids = subid_ranges_for(files.subgid, name, uid);
  if (!gids) return fail(gids.error());
  if (auto s = check_idmap_allowed(maps.uid, uid, *uids, "uid map"); !s) return s;
  return check_idmap_allowed(maps.gid, getegid(), *gids, "gid map");
}

}  // namespace podns
