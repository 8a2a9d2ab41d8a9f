// User and group id mappings for a new user namespace: parsing (CLI "CONTAINER:HOST:SIZE[,...]",
// the kernel's /proc/PID/uid_map text, OCI uidMappings/gidMappings in oci.hpp), validation,
// /etc/subuid + /etc/subgid ranges and `auto` allocation, and writing the maps of a child process
// (directly as root, through newuidmap/newgidmap from Debian's uidmap package otherwise).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "podns/error.hpp"
#include "podns/fd.hpp"

namespace podns {

struct IdMapRange {
  uint32_t container_id = 0;  // first id inside the user namespace
  uint32_t host_id = 0;       // first id in the parent user namespace
  uint32_t size = 0;
  friend bool operator==(const IdMapRange&, const IdMapRange&) = default;
};
using IdMap = std::vector<IdMapRange>;

// Whether processes in the new user namespace may call setgroups(2) (/proc/PID/setgroups). An
// unprivileged caller mapping only its own gid must deny it (kernel rule since 3.19).
enum class SetGroups { allow, deny };

struct IdMappings {
  IdMap uid;
  IdMap gid;
  SetGroups setgroups = SetGroups::allow;
  bool empty() const noexcept { return uid.empty() && gid.empty(); }
  friend bool operator==(const IdMappings&, const IdMappings&) = default;
};

// The kernel accepts at most 340 lines per map (since Linux 4.15).
inline constexpr std::size_t kMaxIdMapRanges = 340;

// "0:100000:65536" or "0:100000:1000,1000:1000:1,1001:101001:64535". Validated (below).
[[nodiscard]] Result<IdMap> parse_idmap(std::string_view text);
// Rejects: no ranges, more than 340, a zero size, a range running past 2^32-1 (the id 4294967295
// is (uid_t)-1 and never mappable), overlapping container ranges, overlapping host ranges.
// `what` names the map in the message ("uid map").
[[nodiscard]] Status validate_idmap(const IdMap& map, std::string_view what = "id map");
// Both maps, and that a map is present whenever the other is.
[[nodiscard]] Status validate_idmappings(const IdMappings& maps);
// Back to the CLI form.
std::string format_idmap(const IdMap& map);
// The text written to /proc/PID/uid_map: "0 100000 65536\n" per range.
std::string kernel_idmap_text(const IdMap& map);
// Parse /proc/PID/uid_map contents (whitespace separated triples, one per line).
[[nodiscard]] Result<IdMap> parse_kernel_idmap(std::string_view text);
// The id inside the namespace that host id `host` maps to, if any.
std::optional<uint32_t> map_to_container(const IdMap& map, uint32_t host);

// --- /etc/subuid and /etc/subgid -----------------------------------------------------------------

struct SubidRange {
  std::string owner;  // user name or numeric uid, as written in the file
  uint32_t start = 0;
  uint32_t count = 0;
};
// "name:start:count" lines; blank lines and '#' comments skipped; a malformed line is an error
// naming its line number.
[[nodiscard]] Result<std::vector<SubidRange>> parse_subid_file(std::string_view content);
// The ranges of user `user_name` / `uid` in `path` (/etc/subuid); a missing file is no ranges.
[[nodiscard]] Result<std::vector<SubidRange>> subid_ranges_for(const std::string& path, std::string_view user_name,
                                                               uid_t uid);

// A map of `size` ids starting at container id 0, carved from `allowed` so that its host ids
// overlap nothing in `in_use` (maps of existing pinned user namespaces). Errc::not_found when no
// free block is left, or when the free ids are so scattered that the map would need more than
// kMaxIdMapRanges lines. A block may span several subordinate ranges (several map lines, each
// inside one range, as check_idmap_allowed wants); ranges that overlap give each id once.
[[nodiscard]] Result<IdMap> allocate_idmap(std::span<const SubidRange> allowed, uint32_t size, const IdMap& in_use);

// Whether an unprivileged caller (uid/gid `caller_id`) may use `map`: every host range lies in one
// of `allowed` or is exactly the caller's own id. Errc::invalid_argument naming the first range
// that is not allowed (which is what newuidmap would refuse, less clearly).
[[nodiscard]] Status check_idmap_allowed(const IdMap& map, uint32_t caller_id, std::span<const SubidRange> allowed,
                                         std::string_view what = "id map");

// `auto` for the effective user: `size` ids from /etc/subuid and /etc/subgid (other paths may
// be given), avoiding `uid_in_use` / `gid_in_use`. setgroups is allowed.
struct SubidFiles {
  std::string subuid = "/etc/subuid";
  std::string subgid = "/etc/subgid";
};
[[nodiscard]] Result<IdMappings> auto_idmappings(uint32_t size, const IdMap& uid_in_use, const IdMap& gid_in_use,
                                                 const SubidFiles& files = {});
// For an unprivileged caller, check both maps against the caller's subordinate ranges.
[[nodiscard]] Status check_idmappings_allowed(const IdMappings& maps, const SubidFiles& files = {});

// --- Writing the maps of a process ----------------------------------------------------------------

// Write setgroups, uid_map and gid_map of process `pid`, whose /proc/PID directory is open as
// `proc_dir` (opened while the pid was known to be our unreaped child, so it cannot name another
// process). As root (CAP_SETUID/CAP_SETGID) the files are written directly; otherwise
// newuidmap/newgidmap do it (they check /etc/subuid and /etc/subgid), except that a map of only the
// caller's own id is written directly (allowed to the namespace owner; gid needs setgroups=deny).
[[nodiscard]] Status write_idmappings(FdView proc_dir, pid_t pid, const IdMappings& maps);

}  // namespace podns
