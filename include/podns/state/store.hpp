// Durable pod state in SQLite: pods, namespace pins, network attachments (with the full CNI ADD
// result), port mappings, helper processes, and the CNI DELs still owed to dropped attachments.
//
// Crash safety is an intent log folded into the rows themselves: every side effect podns makes on
// the host is preceded by a row in state "intent" (committed to disk before the effect happens) and
// followed by a commit of that row to "done". A pod row carries a phase (creating, ready, removing).
// After a crash at any point, recovery finds pods whose phase is not "ready" (or whose lock is
// free while they are "creating"/"removing") and undoes every intent or done row: the undo of each
// effect (CNI DEL, unpin, kill a helper) is idempotent, so an intent whose effect never happened is
// harmless to undo.
//
// The database is opened in WAL mode with a busy timeout; writes run in BEGIN IMMEDIATE
// transactions so that concurrent podns processes serialize instead of failing with SQLITE_BUSY
// on a read-to-write upgrade.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "podns/error.hpp"

namespace podns::state {

// The schema version this build writes (PRAGMA user_version). A newer database is refused.
// 1: the tables. 2: a summary of each attachment (MAC, addresses) and the pod's id mappings in
// columns of their own, so listing pods reads no JSON. 3: native networks, IP leases and IPAM
// cursors, key/value metadata (the boot id), the attachment's driver and host interface, port ranges.
// 4: pending CNI DELs (attachments dropped while their DEL failed, kept until a retry succeeds).
// 5: the pod's kind (a podns pod, or a CNI attachment made for another runtime by podns-bridge).
inline constexpr int kSchemaVersion = 5;

enum class PodPhase { creating, ready, removing };
std::string_view to_string(PodPhase p);
Result<PodPhase> parse_pod_phase(std::string_view s);

// An intent row becomes done once its side effect has happened.
enum class RowState { intent, done };
std::string_view to_string(RowState s);

// What a row of `pods` is. `pod`: a podns pod (pod create). `cni`: one CNI attachment that the
// podns-bridge plugin made for another runtime (containerd, CRI-O, libcni), keyed as CNI keys
// plugin state, (network, container id, ifname): no pins (the runtime owns the netns), one
// attachment. Both go through the same locks, intents, recovery and firewall.
enum class PodKind { pod, cni };
std::string_view to_string(PodKind k);

struct PodRecord {
  std::string name;
  PodPhase phase = PodPhase::creating;
  std::string spec;         // the request as JSON (networks, ports, ip, mac, sysctls, userns, ...)
  std::string netns_path;   // sandbox key, empty until pinned
  std::string userns_path;  // empty without --userns
  int64_t created_at = 0;   // unix seconds
  // The "idMappings" member of spec as JSON text ("" without a user namespace): filled from spec
  // by insert_pod, so ls and `--userns auto` need not parse every pod's request.
  std::string id_mappings;
  PodKind kind = PodKind::pod;
};

struct PinRecord {
  std::string pod;
  std::string type;  // namespace type name: net, user, ipc, uts, ...
  std::string path;
  RowState state = RowState::intent;
};

// What ls and inspect show of an attachment, from its CNI result: written by commit_attachment.
struct AttachmentAddress {
  std::string address;  // CIDR: "10.89.0.5/16"
  std::string gateway;  // may be empty
  bool operator==(const AttachmentAddress&) const = default;
};
struct AttachmentSummary {
  std::string mac;  // of the pod's interface, as CNI reported it
  std::vector<AttachmentAddress> addresses;
  bool operator==(const AttachmentSummary&) const = default;
};

// How an attachment was made: by exec'ing a CNI conflist's plugins, or by podns's own driver.
enum class AttachmentDriver { cni, native };
std::string_view to_string(AttachmentDriver d);

struct AttachmentRecord {
  std::string pod;
  int index = 0;             // 0 -> eth0, 1 -> eth1, ...
  std::string network;       // network (conflist) name
  std::string ifname;
  std::string container_id;  // CNI_CONTAINERID
  std::string netns_path;    // CNI_NETNS at ADD time
  std::string config;        // the conflist JSON used for ADD, so DEL works after the file is gone
  std::string runtime_config;  // the runtimeConfig JSON (portMappings, ips, mac) sent with ADD
  std::string result;        // the final CNI ADD result JSON (empty while an intent)
  RowState state = RowState::intent;
  AttachmentSummary summary;  // from result (empty while an intent)
  AttachmentDriver driver = AttachmentDriver::cni;
  std::string host_ifname;   // native: the host end of the pod's veth (its counters are the pod's)
};

struct PortMapping {
  std::string pod;
  std::string host_ip;  // "" = all addresses
  int host_port = 0;
  int container_port = 0;
  std::string protocol = "tcp";
  int range = 1;  // consecutive ports: host_port..host_port+range-1 -> container_port..+range-1
  bool operator==(const PortMapping&) const = default;
};

// A native network: the definition is JSON owned by the network layer; the state only keeps it.
struct NetworkRecord {
  std::string name;
  std::string driver = "bridge";
  std::string bridge;       // the bridge ifname (unique among networks)
  std::string options;      // the definition as JSON (subnets, gateways, ranges, flags)
  int64_t created_at = 0;   // unix seconds
  bool operator==(const NetworkRecord&) const = default;
};

// One IP address leased to one attachment of a pod on a native network.
struct Lease {
  std::string network;
  std::string address;  // canonical text, no prefix ("10.89.0.5", "fd00::5")
  std::string pod;
  int index = 0;        // the attachment (pod, index) it belongs to
  bool operator==(const Lease&) const = default;
};

struct HelperRecord {
  std::string pod;
  std::string kind;         // slirp4netns, pasta, ...
  int pid = 0;
  uint64_t start_time = 0;  // /proc/PID/stat field 22, so a reused PID is never mistaken for ours
  std::string record;       // the driver's own record (JSON) needed to stop it later
  RowState state = RowState::intent;
};

// A CNI DEL still owed to an attachment whose row is gone (schema 4): an ADD whose rollback DEL
// failed, or a forced rm whose DEL failed. CNI: every ADD eventually gets its DEL, so the record
// stays until a retried DEL succeeds. At most one per (network, container id, ifname).
struct PendingDel {
  int64_t id = 0;            // assigned by add_pending_del
  std::string pod;           // the pod it belonged to (its lock guards a retry; the pod may be gone)
  std::string network;
  std::string container_id;  // CNI_CONTAINERID
  std::string ifname;
  std::string netns_path;    // CNI_NETNS at ADD time
  // The inode of that netns when the DEL failed (0: gone already). A retry hands the path to the
  // plugins only while it still holds this very namespace, never a newer one pinned there since.
  uint64_t netns_ino = 0;
  std::string config;          // the conflist bytes used for ADD
  std::string runtime_config;  // the capability args JSON sent with ADD
  // A result to hand DEL as prevResult when the CNI cache has none (a failed ADD caches nothing):
  // JSON, may be empty.
  std::string result;
  int attempts = 0;          // DELs tried so far, the one that failed first included
  std::string last_error;
  int64_t created_at = 0;       // unix seconds; add_pending_del fills 0 with now
  int64_t last_attempt_at = 0;  // unix seconds
  bool operator==(const PendingDel&) const = default;
};

// Everything podns knows about one pod.
struct PodState {
  PodRecord pod;
  std::vector<PinRecord> pins;
  std::vector<AttachmentRecord> attachments;  // ordered by index
  std::vector<PortMapping> ports;
  std::vector<HelperRecord> helpers;
};

// How long the write-ahead log may grow, in pages, before the commit that finds it longer copies
// it back into the database (a checkpoint: two fsyncs). SQLite's default suits a process that
// keeps its connection. Not a process that opens the database, does one thing and exits (the CLI,
// the CNI plugin): the first connection to a database rebuilds SQLite's index of the WAL from
// every frame in it, 2.8 ms at 1000 frames here, and with no daemon every podns command is a
// first connection. A pod's create and rm write about 35 frames between them; for two processes
// per pod the two costs balance near 200 frames (bench/README.md, BM_CliCreateRm).
inline constexpr int kDefaultCheckpointPages = 1000;
inline constexpr int kShortLivedCheckpointPages = 200;

class Store {
 public:
  // Opens (creating the file and its directory if needed) the database at db_path, sets WAL mode
  // and the busy timeout, and migrates the schema. A file that is not a SQLite database gives
  // Errc::corrupt, a database locked longer than busy_timeout gives Errc::busy, a schema newer than
  // this build gives Errc::unsupported. wal_checkpoint_pages: see kDefaultCheckpointPages (0 or
  // less: that default).
  [[nodiscard]] static Result<Store> open(const std::string& db_path,
                                          std::chrono::milliseconds busy_timeout = std::chrono::seconds(30),
                                          int wal_checkpoint_pages = kDefaultCheckpointPages);

  // A Store going out of scope keeps its connection for the next open() of the same file in this
  // process (warm page cache, no schema check); close_idle() closes those kept connections, for a
  // caller that counts its fds or is about to remove the state directory.
  static void close_idle();

  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  ~Store();

  const std::string& path() const { return path_; }
  // PRAGMA user_version of the open database.
  [[nodiscard]] Result<int> schema_version();

  // Runs fn inside BEGIN IMMEDIATE ... COMMIT (ROLLBACK when fn fails). Nested calls join the
  // outer transaction.
  [[nodiscard]] Status transaction(const std::function<Status()>& fn);

  // --- pods ---
  // Inserts a pod in phase creating together with its port mappings, atomically. Fails with
  // Errc::already_exists when the name is taken or a port mapping collides with another pod's or
  // with another of its own (ports_conflict), Errc::invalid_argument when a mapping's range is
  // below 1 or runs past port 65535.
  [[nodiscard]] Status insert_pod(const PodRecord& pod, const std::vector<PortMapping>& ports);
  [[nodiscard]] Status set_pod_phase(const std::string& name, PodPhase phase);
  [[nodiscard]] Status set_pod_paths(const std::string& name, const std::string& netns_path,
                                     const std::string& userns_path);
  // Deletes the pod and every row that belongs to it. Deleting a missing pod is not an error.
  [[nodiscard]] Status delete_pod(const std::string& name);
  [[nodiscard]] Result<PodRecord> get_pod(const std::string& name);  // Errc::not_found
  [[nodiscard]] Result<std::vector<PodRecord>> list_pods();         // ordered by name
  // Pods whose phase is not ready: an operation is running on them, or crashed.
  [[nodiscard]] Result<std::vector<PodRecord>> list_unfinished();
  [[nodiscard]] Result<PodState> load(const std::string& name);      // Errc::not_found
  // All pods with all their rows, in a constant number of queries (gc, recovery).
  [[nodiscard]] Result<std::vector<PodState>> load_all();
  // All pods for a listing: every row, but without the large JSON columns (PodRecord::spec,
  // AttachmentRecord::config, runtime_config, result, container_id and netns_path stay empty; the
  // summaries and id_mappings are there), read through narrow covering indexes. One snapshot, a
  // constant number of queries: `pod ls` of 1000 pods.
  [[nodiscard]] Result<std::vector<PodState>> load_all_summaries();

  // --- pins ---
  [[nodiscard]] Status record_pin_intent(const std::string& pod, const std::string& type, const std::string& path);
  [[nodiscard]] Status commit_pin(const std::string& pod, const std::string& type);
  [[nodiscard]] Status remove_pin(const std::string& pod, const std::string& type);

  // --- attachments ---
  [[nodiscard]] Status record_attachment_intent(const AttachmentRecord& a);
  // Stores the result and its summary (MAC and addresses of the attachment's interface).
  [[nodiscard]] Status commit_attachment(const std::string& pod, int index, const std::string& result);
  [[nodiscard]] Status remove_attachment(const std::string& pod, int index);

  // --- port mappings (besides insert_pod) ---
  [[nodiscard]] Result<std::vector<PortMapping>> all_ports();

  // --- native networks (schema 3) ---
  // Errc::already_exists when the name or the bridge is taken by another network.
  [[nodiscard]] Status insert_network(const NetworkRecord& n);
  [[nodiscard]] Result<NetworkRecord> get_network(const std::string& name);  // Errc::not_found
  [[nodiscard]] Result<std::vector<NetworkRecord>> list_networks();          // ordered by name
  // Errc::busy (naming a pod) while a lease or attachment still uses it; a missing one is no error.
  [[nodiscard]] Status delete_network(const std::string& name);

  // --- IP leases (IPAM; the logic is network/ipam.hpp) ---
  // The attachment (pod, index) must exist (the lease goes when it goes: ON DELETE CASCADE).
  // Errc::already_exists when (network, address) is leased already (the error names the holder):
  // a UNIQUE constraint, so two processes can never both get it. Errc::not_found when the
  // network or the attachment is missing.
  [[nodiscard]] Status insert_lease(const Lease& lease);
  // Who holds the address; nullopt when it is free.
  [[nodiscard]] Result<std::optional<Lease>> lease_of(const std::string& network, const std::string& address);
  // Every lease of the network, ordered by the address text.
  [[nodiscard]] Result<std::vector<Lease>> leases(const std::string& network);
  [[nodiscard]] Result<std::vector<Lease>> all_leases();
  // The leases of one attachment, on any network (what a detach releases).
  [[nodiscard]] Result<std::vector<Lease>> attachment_leases(const std::string& pod, int index);
  [[nodiscard]] Status release_leases(const std::string& pod, int index);
  // The last address handed out in a range (round-robin); "" when none yet. The cursors of a
  // network go with it. set_ipam_cursor: Errc::not_found when the network is missing.
  [[nodiscard]] Result<std::string> ipam_cursor(const std::string& network, const std::string& range);
  [[nodiscard]] Status set_ipam_cursor(const std::string& network, const std::string& range,
                                       const std::string& address);

  // --- metadata (key/value: the boot id the state was last reconciled with, ...) ---
  [[nodiscard]] Result<std::optional<std::string>> meta(const std::string& key);
  [[nodiscard]] Status set_meta(const std::string& key, const std::string& value);

  // --- pending CNI DELs (schema 4) ---
  // Records a DEL still owed. Call it in the transaction that drops the attachment's row, so that
  // a crash leaves one or the other. A second record of the same (network, container id, ifname)
  // replaces the first (its attempts add up).
  [[nodiscard]] Status add_pending_del(const PendingDel& p);
  [[nodiscard]] Result<std::vector<PendingDel>> pending_dels();      // oldest first
  [[nodiscard]] Result<PendingDel> pending_del(int64_t id);          // Errc::not_found
  [[nodiscard]] Status remove_pending_del(int64_t id);               // a missing one is no error
  // One more failed attempt: attempts + 1, the error and the time.
  [[nodiscard]] Status note_pending_del_failure(int64_t id, const std::string& error, int64_t when);
  // After a reboot no recorded netns exists any more, whatever inode a new one got.
  [[nodiscard]] Status forget_pending_del_netns();

  // --- helpers ---
  [[nodiscard]] Status record_helper_intent(const std::string& pod, const std::string& kind);
  [[nodiscard]] Status commit_helper(const std::string& pod, const std::string& kind, int pid, uint64_t start_time,
                                     const std::string& record = {});
  [[nodiscard]] Status remove_helper(const std::string& pod, const std::string& kind);

  struct Impl;

 private:
  explicit Store(std::unique_ptr<Impl> impl, std::string path);
  std::unique_ptr<Impl> impl_;
  std::string path_;
};

// True when the two mappings would publish the same host socket (port ranges overlap).
bool ports_conflict(const PortMapping& a, const PortMapping& b);

}  // namespace podns::state
