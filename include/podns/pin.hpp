// Pins: a namespace kept alive by bind-mounting its nsfs file onto an empty file, the way
// `ip netns add` and CRI-O's pinns do. Netns pins live in Paths::netns_dir (/run/netns for root, so
// `ip netns list` and `ip netns exec` see them); other types in Paths::ns_dir("<type>").
#pragma once

#include <sys/types.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "podns/error.hpp"
#include "podns/namespace.hpp"
#include "podns/namespace_type.hpp"
#include "podns/paths.hpp"

namespace podns {

// --- Low-level pin primitives -------------------------------------------------------------------

// mkdir -p `dir`, then make it a shared mount of itself on first use (self bind, MS_PRIVATE,
// MS_SHARED) under flock(dir), as `ip netns add` does, so that unmounting a pin propagates to other
// mount namespaces (a container that bind-mounted /run would otherwise keep the pin busy).
// Cheap when already done: one mount(MS_SHARED) call.
[[nodiscard]] Status prepare_pin_dir(const std::string& dir);

// Create `pin_path` with O_EXCL (Errc::already_exists if present) and bind-mount `source` onto it
// (e.g. /proc/PID/ns/net or /proc/self/fd/N). The mount goes onto the file just created, by fd
// (open_tree + move_mount), never onto whatever the path names by then: if the file was moved or
// replaced meanwhile, the mount is taken off again and the call fails with Errc::busy. On any
// failure the file is removed again, while the name still leads to it.
[[nodiscard]] Status bind_pin(const std::string& source, const std::string& pin_path);

// Unmount (MNT_DETACH) and unlink a pin. Idempotent: an absent pin is success. Refuses, with
// Errc::outside_base_dir, a path that is a symlink, contains "..", or whose directory does not
// resolve to `base_dir`; refuses a directory and a file that is no pin (Errc::not_a_namespace).
// Works through fds: each namespace mounted there is unmounted through the fd it was checked on,
// and the empty file below is unlinked (unlinkat on the pin dir's fd) only while it is still the
// file that was checked; a pin swapped for something else midway is never what goes. Something that
// is no namespace mounted over the pin: retried briefly, then EBUSY.
[[nodiscard]] Status remove_pin(const std::string& pin_path, const std::string& base_dir);

// Whether `pin_path` currently holds a namespace (an nsfs mount). An absent path is `false`.
[[nodiscard]] Result<bool> pin_is_live(const std::string& pin_path);

// A leftover of a crashed pinner: an empty regular file with nothing mounted on it. Removes it and
// returns true; returns false when the pin is live, absent, or being created right now (bind_pin
// holds an flock on the file until its mount is in place). Same path rules as remove_pin.
[[nodiscard]] Result<bool> remove_if_stale(const std::string& pin_path, const std::string& base_dir);

// --- Pins by name ---------------------------------------------------------------------------------

// Where a pin of `type` named `name` lives: <netns_dir>/<name> or <ns_dir(type)>/<name>.
std::string pin_dir(const Paths& paths, NamespaceType type);
std::string pin_path(const Paths& paths, NamespaceType type, std::string_view name);

struct PinnedNamespace {
  NamespaceType type;
  std::string name;
  std::string path;
  NamespaceId id;
};

// Create new namespaces of the given types (any but user: Errc::unsupported, see ns/userns) without
// moving the calling thread or process, and pin each as `name` (validated), or as a random
// "cni-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" name when `name` is empty. Several types in one call
// share one unshare(), as CRI-O's pinns does; pid and time are pinned through *_for_children.
// A leftover stale file of the same name is cleaned first; a live pin gives Errc::already_exists.
// On any failure nothing is left behind. net, uts and cgroup are unshared on the calling thread,
// which switches straight back; if that fails the thread is stranded (see run_in_ns.hpp) and the
// call fails with Errc::thread_stranded. A stranded thread, and the other types, unshare on a
// short-lived thread of their own. A pid namespace gets a holder init whose pid and start time are
// recorded under <run_dir>/ns/pid-holders; removing the pin stops that process and no other.
[[nodiscard]] Result<std::vector<PinnedNamespace>> create_pinned(const Paths& paths,
                                                                 std::span<const NamespaceType> types,
                                                                 std::string_view name = {});
[[nodiscard]] Result<PinnedNamespace> create_pinned(const Paths& paths, NamespaceType type,
                                                    std::string_view name = {});

// Pin the namespaces of a running process (like `ip netns attach NAME PID`), race-free: a pidfd is
// taken first, the /proc/PID/ns entries are bound, then the pidfd must show the same process still
// alive; if it died (its PID may have been reused), the pins are removed and Errc::process_exited.
[[nodiscard]] Result<std::vector<PinnedNamespace>> attach(const Paths& paths, std::string_view name, pid_t pid,
                                                          std::span<const NamespaceType> types);

// Remove the pins named `name` of the given types (all types when empty), and the holder init a
// pid pin made by podns has (found by its record, never by name). Idempotent.
[[nodiscard]] Status remove_pinned(const Paths& paths, std::string_view name,
                                   std::span<const NamespaceType> types = {});

struct PinEntry {
  NamespaceType type;           // from the directory it is in; the nsfs type when live
  std::string name;
  std::string path;
  bool live = false;            // false: a stale leftover file (nothing mounted)
  NamespaceId id;               // when live
  std::optional<int> nsid;      // netns only: the peer netns id, when one is assigned (RTM_GETNSID)
  bool type_mismatch = false;   // live, but holds a namespace of another type than its directory
};

// All pins below `paths`, netns first then the table order, sorted by name within a type.
[[nodiscard]] Result<std::vector<PinEntry>> list_pins(const Paths& paths);
// The pins (of any type) named `name`.
[[nodiscard]] Result<std::vector<PinEntry>> find_pins(const Paths& paths, std::string_view name);
// The one live pin a name stands for, as `ns pids` and `ns info` take it: of `type` when given;
// else the netns of that name, else its only pin. Errc::not_found when there is none,
// Errc::invalid_argument when several pins of other types share the name (choose a type).
[[nodiscard]] Result<PinEntry> find_pin(const Paths& paths, std::string_view name,
                                        std::optional<NamespaceType> type = std::nullopt);

// The pins that process `pid` is in (like `ip netns identify`), of every type.
[[nodiscard]] Result<std::vector<PinEntry>> identify(const Paths& paths, pid_t pid);

// The PIDs of all processes inside namespace `id` of `type` (like `ip netns pids`), ascending.
[[nodiscard]] Result<std::vector<pid_t>> pids_in(NamespaceType type, NamespaceId id);

}  // namespace podns
