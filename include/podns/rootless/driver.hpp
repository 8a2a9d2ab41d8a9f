// Rootless pod networking: a user-mode network helper (slirp4netns or pasta) that gives a pod's
// netns a tap interface, NAT to the host, and published ports, without any privilege.
//
// start_rootless_net() spawns the helper against the pod's netns (and its owning user namespace),
// waits for it to be ready within a deadline, publishes the requested ports, and returns an owning
// handle: destroying it stops the helper (children die with their handle) unless detach() hands the
// helper's life over to the caller's state, as `podns pod create` does. The value-typed
// RootlessNetRecord is what the pod layer stores; every later operation (inspect, rm, gc, adding a
// forward) works from that record after verifying that the PID still names the same process
// (start time from /proc/PID/stat), so a reused PID is never signalled.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "podns/error.hpp"
#include "podns/fd.hpp"

namespace podns::rootless {

enum class DriverKind { slirp4netns, pasta };

std::string_view driver_name(DriverKind kind);  // "slirp4netns", "pasta"
// The Debian package that ships the helper, for "install ..." hints.
std::string_view driver_package(DriverKind kind);  // "slirp4netns", "passt"
Result<DriverKind> parse_driver(std::string_view name);

enum class Proto { tcp, udp };
std::string_view proto_name(Proto p);

// One published port: host_ip:host_port on the host forwards to container_port in the pod.
struct PortForward {
  std::string host_ip;  // empty: every host address (0.0.0.0)
  uint16_t host_port = 0;
  uint16_t container_port = 0;
  Proto proto = Proto::tcp;
  int id = -1;  // slirp4netns's hostfwd id once added; -1 for pasta or not yet added

  // Same forward, ignoring the helper-assigned id.
  bool same_as(const PortForward& o) const {
    return host_ip == o.host_ip && host_port == o.host_port && container_port == o.container_port &&
           proto == o.proto;
  }
};

// "[IP:]HOSTPORT[:CTRPORT][/tcp|udp]" as podman's -p takes it (CTRPORT defaults to HOSTPORT,
// the protocol to tcp). IPv4 host addresses only.
Result<PortForward> parse_port_forward(std::string_view spec);
// Back to the -p form: "127.0.0.1:8080:80/tcp" or "8080:80/udp".
std::string format_port_forward(const PortForward& f);

// Root of the initial user namespace? Root of a rootless session (a user namespace of the user's)
// is not: it binds host ports as that user, and its pods get no bridge (the helpers run in the
// host's netns, owned by the initial user namespace, where the session's capabilities count for
// nothing).
bool root_on_host();

// Ports below net.ipv4.ip_unprivileged_port_start need CAP_NET_BIND_SERVICE on the host: refuse
// them up front for a non-root caller with a message that names the sysctl.
Status check_host_port_allowed(const PortForward& f);

struct RootlessNetRequest {
  DriverKind kind = DriverKind::slirp4netns;
  std::string name;         // pod name: names the API socket, pid and log files
  std::string netns_path;   // the pod's netns: a pin or /proc/PID/ns/net
  std::string userns_path;  // the user namespace owning that netns; empty when it is our own
  std::string run_dir;      // API socket, pid file and log live here (created 0700 if missing)
  std::vector<PortForward> forwards;
  // Let the pod reach the host's loopback: slirp4netns through 10.0.2.2 (no
  // --disable-host-loopback), pasta through the gateway address (no --no-map-gw). Off by default,
  // as in podman: a pod must not see services bound to the host's 127.0.0.1.
  bool allow_host_loopback = false;
  // slirp4netns --exit-fd: the helper exits when the last copy of the pipe's write end closes.
  // The handle owns that write end (take_exit_fd() hands it to whatever embodies the pod's life).
  // Set false for a helper whose life is bound to stored state only (CLI: pod rm / gc stop it).
  bool exit_with_handle = true;
  uint32_t mtu = 65520;
  std::chrono::milliseconds ready_timeout{10000};
  std::string binary;  // the helper executable; empty: slirp4netns / pasta from PATH
};

// What the pod layer stores about a running helper.
struct RootlessNetRecord {
  DriverKind kind = DriverKind::slirp4netns;
  pid_t pid = 0;
  uint64_t start_time = 0;   // field 22 of /proc/PID/stat: tells a reused PID apart
  std::string api_socket;    // slirp4netns only
  std::string log_path;      // the helper's stderr
  std::string pid_file;      // pasta only
  std::string netns_path;
  bool allow_host_loopback = false;
  std::vector<PortForward> forwards;
};

void to_json(nlohmann::json& j, const RootlessNetRecord& r);
void from_json(const nlohmann::json& j, RootlessNetRecord& r);  // throws nlohmann exceptions
std::string record_to_json(const RootlessNetRecord& r);
Result<RootlessNetRecord> record_from_json(std::string_view text);  // Errc::corrupt on bad input

// The owning handle of a started helper.
class RootlessNet {
 public:
  RootlessNet() = default;
  RootlessNet(RootlessNetRecord record, UniqueFd pidfd, UniqueFd exit_fd);
  RootlessNet(RootlessNet&&) noexcept = default;
  RootlessNet& operator=(RootlessNet&& other) noexcept;
  RootlessNet(const RootlessNet&) = delete;
  RootlessNet& operator=(const RootlessNet&) = delete;
  ~RootlessNet();  // stops the helper and removes its files, unless detached

  const RootlessNetRecord& record() const { return record_; }
  RootlessNetRecord& record() { return record_; }
  FdView pidfd() const { return pidfd_.view(); }
  explicit operator bool() const { return static_cast<bool>(pidfd_); }

  // Hand the write end of slirp4netns's exit pipe to the caller (empty for pasta or when
  // exit_with_handle was false): the helper exits once every copy of it is closed.
  UniqueFd take_exit_fd() { return std::move(exit_fd_); }
  // Let the helper outlive this handle; the caller keeps the record and stops it with stop().
  // A helper started with exit_with_handle must have had its exit fd taken first, or it exits
  // as soon as the handle's copy closes.
  RootlessNetRecord detach();
  // Stop the helper now (SIGTERM, then SIGKILL after a grace period), reap it, remove its files.
  Status stop();

 private:
  RootlessNetRecord record_;
  UniqueFd pidfd_;
  UniqueFd exit_fd_;
};

// Spawn the helper, wait until it is ready (deadline: ready_timeout), publish the ports. On any
// failure the helper is stopped and its files removed before the error returns (full rollback).
Result<RootlessNet> start_rootless_net(const RootlessNetRequest& request);

// Operations on a running helper known from a stored record. Each first verifies that the PID
// still names the recorded process. slirp4netns forwards go through its API socket; pasta fixes
// its forwards at start, so adding or removing one is Errc::unsupported.
Result<PortForward> add_forward(RootlessNetRecord& record, const PortForward& forward);
Status remove_forward(RootlessNetRecord& record, const PortForward& forward);
// slirp4netns: asked from the helper (list_hostfwd); pasta: the recorded forwards.
Result<std::vector<PortForward>> list_forwards(const RootlessNetRecord& record);

// Is the recorded helper still running? false when the PID is gone or now names another process
// (different start time).
Result<bool> alive(const RootlessNetRecord& record);
// What `pod inspect` shows about a recorded helper: whether it still runs, the forwards it has
// (asked from slirp4netns's API when it runs; the record otherwise), and when it died, the last
// lines of its log. Never fails for a dead helper: that is a state to show, not an error.
struct HelperStatus {
  DriverKind kind = DriverKind::slirp4netns;
  pid_t pid = 0;
  bool running = false;
  std::vector<PortForward> forwards;
  std::string last_log;  // tail of the helper's log when it is not running
};
HelperStatus helper_status(const RootlessNetRecord& record);
// {"driver", "pid", "running", "forwards": ["8080:80/tcp", ...], "log"} for --json output.
void to_json(nlohmann::json& j, const HelperStatus& s);

// Stop a recorded helper (never a PID whose start time differs) and remove its socket, pid file
// and log. Idempotent: a helper that is already gone is success.
Status stop(const RootlessNetRecord& record);

// Stop the helper of kind `kind` that pod `name` started with run_dir but that no record names (a
// crash after the helper started and before its record was committed): the one whose command line
// names the pod's API socket (slirp4netns) or pid file (pasta). Removes its files too. Success
// when there is none.
Status stop_unrecorded(DriverKind kind, const std::string& run_dir, const std::string& name);

// What `podns gc` does for rootless networking: stop helpers whose command line points into
// run_dir but that no live record names (a crash between spawn and the state write), and remove
// sockets, pid files and logs in run_dir that no live record names. Returns one line per object
// removed ("stopped slirp4netns pid 42", "removed /run/user/1000/podns/rootless/web.sock").
Result<std::vector<std::string>> gc(const std::string& run_dir, const std::vector<RootlessNetRecord>& live);

}  // namespace podns::rootless
