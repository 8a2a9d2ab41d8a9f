// Shared innards of the pod operations: locks, the store, the CNI runtime, teardown, recovery.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "podns/cni/config.hpp"
#include "podns/cni/runtime.hpp"
#include "podns/network/driver.hpp"
#include "podns/network/network.hpp"
#include "podns/pod/pod.hpp"
#include "podns/state/lock.hpp"
#include "podns/state/store.hpp"
#include "sys/fault.hpp"

namespace podns::pod::detail {

// A crash point between two steps of a pod operation (sys/fault.hpp): the crash tests SIGKILL the
// process here, exactly as a crash (or `kill -9`) would stop it. Without an installed fault
// handler (always, outside the tests) it does nothing.
inline void kill_point(std::string_view name) { sys::fault::crash_point(name); }

// The locks every mutating pod operation holds: global shared (gc excludes us), pod exclusive.
struct OpLocks {
  state::FileLock global;
  state::FileLock pod;
};
[[nodiscard]] Result<OpLocks> lock_for_operation(const PodEnv& env, const std::string& pod);

[[nodiscard]] Result<state::Store> open_store(const PodEnv& env);

// The info of a pod from its stored state (no kernel calls).
PodInfo pod_info(const state::PodState& st);
// Adds what the kernel has now: netns present or gone, each interface's link state, MTU, MAC and
// addresses (one rtnetlink socket opened inside the netns), and whether each helper still runs.
// Best effort: what cannot be read is said in info.live, never returned as an error.
void add_live_state(PodInfo& info, const state::PodState& st);
cni::Runtime make_runtime(const PodEnv& env);

// A network a pod attaches to: a native podns network, or a CNI conflist.
struct ResolvedNetwork {
  std::string name;
  std::optional<network::Network> native;
  std::optional<cni::NetworkConfigList> cni;
};

// The network `name`: a native network of that name (the default network is created natively on
// first use), otherwise the CNI conflist of that name in the CNI conf dir, every plugin of whose
// chain must be installed (checked here, before any side effect, so a missing plugin never leaves
// half a pod).
[[nodiscard]] Result<ResolvedNetwork> resolve_network(const PodEnv& env, state::Store& store, const std::string& name);

// The native default network, created on first use: its row, its rules in the firewall. Pods a
// podns before native networks attached to the default network through its CNI conflist keep
// their addresses: they become leases of the native network, which adopts the bridge.
[[nodiscard]] Result<network::Network> native_default_network(const PodEnv& env, state::Store& store);

// The host's data plane, opened on first use and then kept for the life of the process (one per
// locks dir and table): closing an nf_tables socket right after a change waits for the kernel's
// cleanup (0.3-6 ms here), and a runtime linking libpodns creates pods all day. Its sockets live
// in the netns of the thread that first asked. Shared by threads: the plane serializes its
// firewall calls.
class LazyHostPlane {
 public:
  explicit LazyHostPlane(const PodEnv& env) : env_(env) {}
  [[nodiscard]] Result<network::HostPlane*> get();

 private:
  const PodEnv& env_;
  network::HostPlane* plane_ = nullptr;
};

// After a reboot the pins, veths and the nftables table are gone while the state survives: the
// first command of a new boot (its boot id differs from the one recorded) tears down every pod
// the reboot took away, releasing their leases, as podman's refresh does; networks' bridges and
// the table come back on first use. Cheap when nothing changed: one file read, one query.
void reconcile_boot(const PodEnv& env, state::Store& store, std::vector<std::string>* cleaned = nullptr,
                    std::vector<Error>* errors = nullptr);

// Undo everything recorded for the pod, newest first: stop helpers, DEL attachments in reverse,
// unpin, drop the state. Every step runs even when an earlier one failed. Without `force`, a failed
// DEL keeps the pod (phase removing, pins kept so a retried DEL can still enter the netns) and the
// first error is returned; with `force` the state goes anyway and failures become warnings, and a
// CNI DEL that failed is kept as a pending DEL in the transaction that drops the pod.
[[nodiscard]] Status teardown(const PodEnv& env, state::Store& store, const state::PodState& st, bool force);

// Roll back every pod whose operation crashed: phase not ready and nobody holds its lock. Best
// effort (failures become warnings); `cleaned` gets one line per pod rolled back.
void recover_crashed(const PodEnv& env, state::Store& store, std::vector<std::string>* cleaned = nullptr,
                     std::vector<Error>* errors = nullptr);

// --- CNI DELs still owed (pending_dels.cpp; state::PendingDel) ---

// The pending DEL of attachment `a`, whose DEL just failed with `error`: one attempt so far, the
// netns's identity read now. `result`: what DEL should get as prevResult when the CNI cache has
// no entry (may be empty).
state::PendingDel pending_del_for(const state::AttachmentRecord& a, const std::string& result,
                                  const std::string& error);

// gc (every other operation excluded): every pending DEL, once each. A success drops the record and
// is a line in report.cleaned; a failure keeps it (attempts + 1) and is an error.
void retry_all_pending_dels(const PodEnv& env, state::Store& store, GcReport& report);

// The start of a mutating command: best effort, never fails the command (failures are warnings).
// At most a few records, only those not tried within env.pending_del_retry_interval, each under
// its pod's lock taken without waiting (`held_pod`'s is held by the caller already), with a short
// plugin deadline.
void retry_some_pending_dels(const PodEnv& env, state::Store& store, const std::string& held_pod);

// pod create, holding the pod's lock, before anything is recorded: the pending DEL of each CNI
// attachment it is about to ADD (same network, container id and ifname) runs first, whenever it
// was last tried, and one that still fails fails the create (CNI: no second ADD of an attachment
// without a DEL in between).
[[nodiscard]] Status settle_pending_dels(const PodEnv& env, state::Store& store, const std::string& pod,
                                         const std::vector<ResolvedNetwork>& nets);

}  // namespace podns::pod::detail
