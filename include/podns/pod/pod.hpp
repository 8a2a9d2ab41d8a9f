// Pod sandboxes: one call gives a pod its namespaces and networks, one call takes all of it away,
// and nothing is lost or leaked whatever happens in between.
//
// Every mutating operation holds the global lock shared and the pod's lock exclusive (state/lock.hpp),
// and writes an intent row before each side effect and commits it after (state/store.hpp). A pod
// whose operation crashed (phase not "ready", lock free) is rolled back by the next mutating command
// or by gc: DEL of every attachment in reverse, unpin, drop the state.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "podns/error.hpp"
#include "podns/idmap.hpp"
#include "podns/namespace_type.hpp"
#include "podns/paths.hpp"
#include "podns/pod/default_network.hpp"
#include "podns/pod/spec.hpp"
#include "podns/rootless/driver.hpp"
#include "podns/state/store.hpp"

namespace podns::pod {

// Where podns finds and keeps things. from_paths() fills everything from the Paths and the
// environment: NETCONFPATH (cnitool's name) for the CNI config dir, CNI_PATH for plugin dirs,
// PODNS_DEFAULT_BRIDGE / PODNS_DEFAULT_SUBNET for a not-yet-written default network.
struct PodEnv {
  Paths paths;
  std::string podns_conf_dir;  // <state_dir>/net.d: the default network lives here
  std::string cni_conf_dir;    // /etc/cni/net.d: networks named with --network
  std::vector<std::string> plugin_dirs;
  DefaultNetworkOptions default_network;
  std::chrono::milliseconds lock_timeout{60'000};
  std::chrono::milliseconds db_busy_timeout{30'000};
  // state::Store::open's wal_checkpoint_pages: a process that exits after one command sets
  // state::kShortLivedCheckpointPages (the CLI and the CNI plugin do).
  int db_checkpoint_pages = state::kDefaultCheckpointPages;
  std::chrono::milliseconds plugin_deadline{60'000};
  // podns's nftables table (inet family) for native networks; PODNS_NFT_TABLE moves it.
  std::string nft_table = "podns";
  // Where the current boot's id is read (tests give a file they rewrite to stage a reboot).
  std::string boot_id_path = "/proc/sys/kernel/random/boot_id";
  // The start of every mutating command retries a few pending CNI DELs (pending_dels()), each
  // at most once per this interval; gc retries all of them every time.
  std::chrono::seconds pending_del_retry_interval{60};
  // Where `auto` user-namespace ids come from (tests point these at files with larger ranges).
  SubidFiles subid_files;
  // Problems that do not fail the operation (a DEL that failed during rm --force or rollback).
  std::function<void(const Error&)> on_warning;
  // Long operations (gc, network reload) report each step as they start it: what, and that it is
  // step `done + 1` of `total`. Called on the operation's thread; may be empty.
  std::function<void(std::string_view step, size_t done, size_t total)> on_progress;

  static PodEnv from_paths(Paths paths);
  void warn(const Error& e) const {
    if (on_warning) on_warning(e);
  }
  void progress(std::string_view step, size_t done, size_t total) const {
    if (on_progress) on_progress(step, done, total);
  }
};

// --- What inspect and ls show ---------------------------------------------------------------------

struct AddressInfo {
  std::string address;  // CIDR: "10.89.0.5/16"
  std::string gateway;  // may be empty
  bool ipv6 = false;
  bool operator==(const AddressInfo&) const = default;
};

// What the kernel has now for one of the pod's interfaces (pod inspect only).
struct LiveInterface {
  bool present = false;       // false: CNI reported it, but it no longer exists in the netns
  std::string operstate;      // "UP", "DOWN", "LOWERLAYERDOWN", ... as `ip link` prints it
  bool admin_up = false;      // IFF_UP
  uint32_t mtu = 0;
  std::string mac;
  std::vector<std::string> addresses;  // CIDR, IPv4 first, as the kernel has them
};

// A rootless pod's network helper process, as recorded.
struct HelperInfo {
  rootless::DriverKind kind = rootless::DriverKind::slirp4netns;
  int pid = 0;
  bool operator==(const HelperInfo&) const = default;
};

// Whether a recorded helper still runs (pod inspect only).
struct HelperLive {
  rootless::DriverKind kind = rootless::DriverKind::slirp4netns;
  int pid = 0;
  bool running = false;
  std::string log_tail;  // the last lines of its log when it is not running
};

// What inspect found in the kernel besides the state. Never a reason to fail inspect: a pod
// whose netns was deleted behind podns's back, or whose helper died, is a state to show (and
// `pod rm` still cleans it up).
enum class NetnsLiveness {
  unknown,  // the pin could not be checked (LiveState::error says why), or the pod has no netns
  present,
  gone,     // the pin no longer holds a netns (deleted behind podns's back)
};
std::string_view to_string(NetnsLiveness n);  // "unknown", "present", "gone"

struct LiveState {
  NetnsLiveness netns = NetnsLiveness::unknown;
  std::string error;  // why the interfaces could not be read, if they could not
  std::vector<HelperLive> helpers;
};

enum class AttachmentState {
  intent,    // being attached, or a crash left it half attached (gc or rm finishes it)
  attached,
};
std::string_view to_string(AttachmentState s);  // "intent", "attached"

struct NetworkInfo {
  std::string network;
  std::string ifname;
  std::string mac;
  std::vector<AddressInfo> addresses;
  std::vector<PortSpec> ports;  // the mappings published through this attachment
  AttachmentState state = AttachmentState::intent;
  std::optional<LiveInterface> live;  // inspect: the interface as the kernel has it now
};

struct PodInfo {
  std::string name;
  state::PodPhase phase = state::PodPhase::creating;  // state::to_string: creating | ready | removing
  std::string netns_path;   // the sandbox key
  std::string userns_path;  // empty without a user namespace
  std::optional<IdMappings> userns_mappings;  // with a user namespace
  std::vector<std::pair<NamespaceType, std::string>> pins;  // type -> path
  std::vector<NetworkInfo> networks;
  std::vector<HelperInfo> helpers;
  int64_t created_at = 0;
  std::optional<LiveState> live;  // inspect only: unset from ls and create
};

// "live" members appear only when info.live is set.
nlohmann::json to_json(const PodInfo& info);
// The same text as an array of to_json(pod) dumped with indent 2, written directly: `pod ls --json`
// of 1000 pods spent most of its time building nlohmann objects.
std::string to_json_text(std::span<const PodInfo> pods);

// --- Operations -----------------------------------------------------------------------------------

// Create the pod: pin its namespaces, attach each network in order (eth0, eth1, ...) with port
// mappings, static IP and MAC through runtimeConfig, set the sysctls. On any failure everything
// already done is undone (DEL of attached networks in reverse, unpin, state dropped) and the first
// error is returned; failures of the undo itself go to env.on_warning (a CNI DEL that failed there
// is kept as a pending DEL: pending_dels()). A pending DEL of an attachment it is about to ADD again
// runs first, and the create fails while it fails.
[[nodiscard]] Result<PodInfo> create(const PodEnv& env, CreateOptions options);

struct RemoveOptions {
  // Drop the state even when a DEL or an unpin failed (the failures become warnings). Also makes
  // removing a pod that does not exist a success.
  bool force = false;
};
// DEL the networks in reverse, unpin, drop the state. Works when the netns was already deleted by
// someone else and after a crash; a pod that does not exist is Errc::not_found (a success with
// force). A DEL that fails does not stop the rest; without
// --force the pod then stays (phase removing, only the failed attachments left) for a retry; with
// it, a CNI DEL that failed is kept as a pending DEL (gc retries it).
[[nodiscard]] Status remove(const PodEnv& env, const std::string& name, const RemoveOptions& options = {});

// The stored state plus the live state (add_live_state): one pod's rows only.
[[nodiscard]] Result<PodInfo> inspect(const PodEnv& env, const std::string& name);
[[nodiscard]] Result<std::vector<PodInfo>> list(const PodEnv& env);

// What `pod stats` (and anything else) needs: each pod's sandbox key and its
// interfaces inside the pod, from the state alone.
struct PodNetns {
  std::string name;
  std::string netns_path;
  std::vector<std::string> ifnames;
};
[[nodiscard]] Result<std::vector<PodNetns>> list_netns(const PodEnv& env);

// The runtime-spec fragment that makes a container join the pod: {"linux": {"namespaces":
// [{"type": "network", "path": ...}, ...], "uidMappings": ..., "gidMappings": ...}}.
[[nodiscard]] Result<nlohmann::json> oci_spec(const PodEnv& env, const std::string& name);

// Run argv inside all of the pod's namespaces, wait for it; its exit code (128+N when killed by
// signal N). The same engine as `ns exec` (exec_in_set, podns/ns_exec.hpp): the pod's user
// namespace when it has one, then its sysfs on /sys and /etc/netns/<netns pin name>/* over /etc.
[[nodiscard]] Result<int> exec(const PodEnv& env, const std::string& name, const std::vector<std::string>& argv);

struct GcReport {
  std::vector<std::string> cleaned;  // one line per object removed
  std::vector<Error> errors;         // what could not be cleaned (gc goes on)
  int pending_dels_done = 0;         // pending CNI DELs that ran now (also lines in cleaned)
  int pending_dels_left = 0;         // pending CNI DELs that failed again (also in errors)
};
// Excludes every other operation (global lock exclusive). Rolls back crashed operations, removes
// pods whose netns pin is gone, retries every pending CNI DEL, removes pins and lock files without
// a pod, CNI cache entries and host-local leases of podns container ids without a pod, and stale
// helper processes.
[[nodiscard]] Result<GcReport> gc(const PodEnv& env);

// The CNI DELs still owed to attachments whose pods are gone or rolled back: an ADD whose own
// rollback DEL failed, a DEL that failed in a forced rm (or gc, or network rm --force). Oldest
// first; read only (nothing is retried).
[[nodiscard]] Result<std::vector<state::PendingDel>> pending_dels(const PodEnv& env);

// The CNI container id of a pod's attachments: "podns-<name>", so gc can tell podns's cache entries
// and leases from those of other runtimes sharing the CNI cache.
std::string container_id(std::string_view pod);

// For a process about to exit, last (the CLI and the CNI plugin call it). A pod's rm removes its
// port forwards, and the kernel frees removed nf_tables elements only after an RCU grace period:
// the last close of the socket that removed them waits for that, 10-15 ms here, which is most of a
// short-lived `pod rm`. Those closes go to a detached closer process (named podns-close, gone
// after one grace period) instead. A long-lived process keeps its sockets and needs no call.
void hand_off_slow_closes();

}  // namespace podns::pod
