// The CNI runtime: ADD, DEL, CHECK, STATUS, GC and VERSION over a network configuration list, as
// libcni does it, plus what libcni lacks: a deadline per plugin call, rollback of a failed ADD,
// best-effort DEL that survives a missing netns or a corrupt cache, and per-attachment locking.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "podns/cni/cache.hpp"
#include "podns/cni/config.hpp"
#include "podns/cni/invoke.hpp"
#include "podns/cni/types.hpp"
#include "podns/error.hpp"

namespace podns::cni {

// One attachment of a container to a network.
struct RuntimeConf {
  std::string container_id;
  std::string netns;          // path of the pinned netns (may be gone for DEL)
  std::string ifname = "eth0";
  std::vector<std::pair<std::string, std::string>> args;      // CNI_ARGS
  nlohmann::json capability_args = nlohmann::json::object();  // portMappings, ips, mac, bandwidth, dns, aliases...
};

// CNI_ARGS, "K=V;K2=V2" (empty pairs skipped), as RuntimeConf::args. Errc::invalid_argument for a
// pair without '=' or with an empty key.
[[nodiscard]] Result<std::vector<std::pair<std::string, std::string>>> parse_cni_args(std::string_view text);

struct RuntimeOptions {
  std::vector<std::string> plugin_dirs = default_plugin_dirs();  // CNI_PATH
  std::string cache_dir = std::string(kDefaultCacheDir);
  std::chrono::milliseconds deadline = kDefaultDeadline;          // per plugin call
  // How long an operation waits for another on the same attachment, or for a GC of the network,
  // to finish (Errc::busy after it: CNI's "try again later").
  std::chrono::milliseconds lock_timeout = std::chrono::minutes(5);
  // Problems that do not fail the operation (a corrupt cache entry DEL went past, a failed rollback
  // step). The library never prints; the CLI prints these as warnings.
  std::function<void(const Error&)> on_warning;
  // Plugin execution; null means ProcessExec.
  std::shared_ptr<PluginExec> exec;
};

// What a failed add() left behind. Its rollback DELs the plugins that ran; when a DEL of that
// rollback fails too, the attachment may be half there and still needs a DEL later (CNI: every
// ADD eventually gets its DEL), which the caller must keep somewhere durable and retry.
struct AddRollback {
  bool failed = false;        // a DEL of the rollback failed
  std::vector<Error> errors;  // those DELs' errors (also sent to on_warning)
  // The result the rollback handed the plugins as prevResult (what the plugins before the failing
  // one reported); unset when the first plugin failed. Nothing of it is in the result cache.
  std::optional<CniResult> prev_result;
};

// A DEL retried after the fact (a pending DEL a runtime kept).
struct DelOptions {
  // prevResult when the cache has no entry for the attachment (a failed ADD never cached one).
  std::optional<CniResult> fallback_result;
  // No CNI_NETNS even when the cache names one: the namespace is gone, or the path now holds
  // another one. CNI 1.0 makes CNI_NETNS optional for DEL; plugins release what they hold outside.
  bool without_netns = false;
};

struct Attachment {
  std::string container_id;
  std::string ifname;
  bool operator==(const Attachment&) const = default;
};

// The container id cnitool derives from a netns path ("cnitool-" + the first 10 bytes of its
// SHA-512 in hex), so `podns cni` and `cnitool` name the same attachment the same way.
std::string cnitool_container_id(std::string_view netns_path);

class Runtime {
 public:
  explicit Runtime(RuntimeOptions options = {});

  // Run the chain in order, each plugin getting the previous result; cache and return the final
  // result in the list's version. On failure, DEL the plugins that ran (reverse order) so nothing
  // stays half-attached, and return the ADD error; `rollback` (when given) says whether that DEL
  // failed too.
  [[nodiscard]] Result<CniResult> add(const NetworkConfigList& net, const RuntimeConf& rt,
                                      AddRollback* rollback = nullptr);
  // Reverse order with the cached result as prevResult. Best effort and idempotent: every plugin is
  // called even when one fails; works when the netns is gone and when the cache entry is missing or
  // corrupt. The cache entry is removed once every plugin succeeded.
  [[nodiscard]] Status del(const NetworkConfigList& net, const RuntimeConf& rt, const DelOptions& options = {});
  // Needs a cached result and cniVersion >= 0.4.0; a no-op when disableCheck.
  [[nodiscard]] Status check(const NetworkConfigList& net, const RuntimeConf& rt);
  // STATUS to every plugin supporting 1.1.0; a no-op for older config versions.
  [[nodiscard]] Status status(const NetworkConfigList& net);
  // DEL for every cached attachment of the network not in `valid`, then (cniVersion >= 1.1.0) GC to
  // every plugin supporting it with cni.dev/valid-attachments. A no-op when disableGC.
  [[nodiscard]] Status gc(const NetworkConfigList& net, const std::vector<Attachment>& valid);
  // VERSION of every plugin in the list.
  [[nodiscard]] Result<std::vector<PluginVersionInfo>> versions(const NetworkConfigList& net);

  // The cached final ADD result (converted to its own version's model); Errc::not_found when none.
  [[nodiscard]] Result<CniResult> cached_result(const std::string& network, const std::string& container_id,
                                                const std::string& ifname) const;
  // Cached attachments of `network` (all networks when empty).
  [[nodiscard]] Result<std::vector<CacheEntry>> cached_attachments(const std::string& network) const;

  const RuntimeOptions& options() const { return options_; }

  struct Impl;  // opaque: the plugin VERSION cache, shared by copies of this Runtime

 private:
  RuntimeOptions options_;
  std::shared_ptr<Impl> impl_;
};

}  // namespace podns::cni
