// `auto` user-namespace ids: the one allocator behind `podns pod create --userns auto` and
// `podns ns add --type user --map auto`.
//
// Host ids are in use in two places: the state database records each pod's maps (from the moment
// its row is committed, before its user namespace is pinned, and after a crash that left it
// unpinned), and every pinned user namespace has its maps in the kernel (the `ns add` sets, which
// have no row). The allocator reads both under one lock file, <locks>/userns-ids.lock, and the
// caller keeps holding it until the chosen ids are recorded in one of them: otherwise two callers
// read the same free block and both take it.
#pragma once

#include <cstdint>

#include "podns/error.hpp"
#include "podns/idmap.hpp"
#include "podns/ns_add.hpp"
#include "podns/pod/pod.hpp"
#include "podns/state/lock.hpp"
#include "podns/state/store.hpp"

namespace podns::pod {

// The size of an `auto` block: a full 16-bit range, as podman's and containerd's.
inline constexpr uint32_t kAutoIdCount = 65536;

// Ids chosen for one user namespace, and the lock that keeps every other `auto` from choosing them.
// Release (or drop) it once they are recorded: the pod's row committed, or the namespace pinned.
class [[nodiscard]] IdReservation {
 public:
  IdReservation(IdMappings maps, state::FileLock lock) : maps_(std::move(maps)), lock_(std::move(lock)) {}
  const IdMappings& maps() const { return maps_; }
  void release() { lock_.release(); }

 private:
  IdMappings maps_;
  state::FileLock lock_;
};

// `size` ids from env.subid_files (the caller's /etc/subuid and /etc/subgid; inside the rootless
// session, the session's own ids) that no pod recorded in the state and no user namespace pinned
// below env.paths uses. Errc::busy when the lock stays taken for env.lock_timeout, Errc::not_found
// when no free block is left. `store` is the open state of the caller (pod create); without it
// the state is opened when it exists (a missing one records no pods).
[[nodiscard]] Result<IdReservation> reserve_auto_idmappings(const PodEnv& env, state::Store* store = nullptr,
                                                            uint32_t size = kAutoIdCount);

// `podns ns add --type user --map auto`: add_namespaces (ns_add.hpp) with request.idmaps reserved
// as `pod create --userns auto` reserves them (setgroups as request.idmaps asks, when given), the
// reservation held until the user namespace is pinned. request.idmaps' ids must be empty.
[[nodiscard]] Result<std::vector<PinnedNamespace>> add_namespaces_with_auto_ids(const PodEnv& env, AddRequest request);

}  // namespace podns::pod
