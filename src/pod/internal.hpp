// Shared innards of the pod operations: locks, the store, the CNI runtime, teardown, recovery.
#pragma once

#include <string>
#include <string_view>

#include "podns/cni/config.hpp"
#include "podns/cni/runtime.hpp"
#include "podns/pod/pod.hpp"
#include "podns/state/lock.hpp"
#include "podns/state/store.hpp"

namespace podns::pod::detail {

// Test-only crash injection: when PODNS_TEST_KILL_POINT equals `name`, the process SIGKILLs itself
// right here, exactly as a crash (or `kill -9`) would stop it. Compiled into every build (one
// getenv per point, nothing else) so the crash tests exercise the shipped binary; never set it in
// production.
void kill_point(std::string_view name);

// The locks every mutating pod operation holds: global shared (gc excludes us), pod exclusive.
struct OpLocks {
  state::FileLock global;
  state::FileLock pod;
};
[[nodiscard]] Result<OpLocks> lock_for_operation(const PodEnv& env, const std::string& pod);

[[nodiscard]] Result<state::Store> open_store(const PodEnv& env);
cni::Runtime make_runtime(const PodEnv& env);

// The network `name`: the default network from podns's own conf dir (written on first use), any
// other from the CNI conf dir. Every plugin of the chain must be installed (checked here, before
// any side effect, so a missing plugin never leaves half a pod).
[[nodiscard]] Result<cni::NetworkConfigList> resolve_network(const PodEnv& env, const std::string& name);

// Undo everything recorded for the pod, newest first: stop helpers, DEL attachments in reverse,
// unpin, drop the state. Every step runs even when an earlier one failed. Without `force`, a failed
// DEL keeps the pod (phase removing, pins kept so a retried DEL can still enter the netns) and the
// first error is returned; with `force` the state goes anyway and failures become warnings.
[[nodiscard]] Status teardown(const PodEnv& env, state::Store& store, const state::PodState& st, bool force);

// Roll back every pod whose operation crashed: phase not ready and nobody holds its lock. Best
// effort (failures become warnings); `cleaned` gets one line per pod rolled back.
void recover_crashed(const PodEnv& env, state::Store& store, std::vector<std::string>* cleaned = nullptr,
                     std::vector<Error>* errors = nullptr);

}  // namespace podns::pod::detail
