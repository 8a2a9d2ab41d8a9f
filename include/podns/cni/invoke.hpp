// Executing CNI plugins: finding the binary in CNI_PATH, the CNI_* environment, stdin/stdout/stderr,
// the error object, "text file busy" retries, and a deadline that kills the plugin's whole process
// group (libcni has none; a hung plugin must never hang podns).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "podns/error.hpp"

namespace podns::cni {

inline constexpr std::chrono::milliseconds kDefaultDeadline{60'000};

// CNI_PATH's default in podns: Debian's plugins live in /usr/lib/cni, upstream's in /opt/cni/bin.
std::vector<std::string> default_plugin_dirs();
// Split a CNI_PATH-style value ("a:b:c"), dropping empty entries.
std::vector<std::string> split_path_list(std::string_view value);
// CNI_PATH split, else default_plugin_dirs().
std::vector<std::string> plugin_dirs_from_environment();

// One plugin execution, as the kernel sees it.
struct ExecRequest {
  std::string path;                   // absolute path of the plugin binary
  std::vector<std::string> args;      // after argv[0] (CNI plugins take none)
  std::vector<std::string> env;       // the complete environment, "K=V"
  std::string input;                  // stdin
  std::chrono::milliseconds deadline = kDefaultDeadline;
};

struct ExecOutput {
  int exit_code = 0;      // -1 when killed by a signal
  int signal = 0;         // the signal that killed it, or 0
  bool timed_out = false; // the deadline ran out and the process group was killed
  std::string out, err;
};

// The seam to the outside (STYLE #7): the real implementation spawns processes; another may record
// the calls or answer them itself.
class PluginExec {
 public:
  virtual ~PluginExec() = default;
  // Run the binary to completion (or deadline). Fails only when it could not be started.
  [[nodiscard]] virtual Result<ExecOutput> run(const ExecRequest& request) = 0;
};

// Started through the child-process builder (src/sys/child.hpp) in a new process group, with
// default signals and nothing but stdin/stdout/stderr (over pipes) open; reaped through a pidfd;
// retries ETXTBSY (a plugin binary being replaced while we exec it) a few times.
class ProcessExec final : public PluginExec {
 public:
  [[nodiscard]] Result<ExecOutput> run(const ExecRequest& request) override;
};

// Find plugin `type` in `dirs`: the first regular file of that name. Errc::not_found naming the
// dirs when absent; Errc::invalid_argument when it exists but is not executable.
[[nodiscard]] Result<std::string> find_plugin(std::string_view type, const std::vector<std::string>& dirs);

// The CNI_* variables of one call.
struct PluginCall {
  std::string command;       // ADD, DEL, CHECK, STATUS, GC, VERSION
  std::string container_id;  // empty for STATUS/GC/VERSION
  std::string netns;
  std::string ifname;
  std::vector<std::pair<std::string, std::string>> args;  // CNI_ARGS, "K=V;K2=V2"
  std::vector<std::string> plugin_dirs;                   // CNI_PATH
};

// Our environment with the call's CNI_* variables set (and stale CNI_* ones of ours removed).
std::vector<std::string> plugin_environment(const PluginCall& call);

// Run plugin `type` at `path` with `config` on stdin. On exit 0 returns stdout. Otherwise an
// Errc::plugin_failed (Errc::timed_out for the deadline) error that names the plugin and the verb and
// carries the plugin's CNI error "{code, msg, details}" from stdout, or stderr when stdout has none.
[[nodiscard]] Result<std::string> invoke_plugin(PluginExec& exec, std::string_view type, const std::string& path,
                                                const PluginCall& call, const nlohmann::json& config,
                                                std::chrono::milliseconds deadline);

// A plugin's answer to VERSION.
struct PluginVersionInfo {
  std::string type;
  std::string path;
  std::string cni_version;
  std::vector<std::string> supported;
  bool supports(std::string_view version) const;
};
[[nodiscard]] Result<PluginVersionInfo> probe_plugin_version(PluginExec& exec, std::string_view type,
                                                             const std::string& path,
                                                             const std::vector<std::string>& plugin_dirs,
                                                             std::chrono::milliseconds deadline);

// Text of a well-known CNI error code ("incompatible CNI version"), empty when not well-known.
std::string_view cni_error_name(int code);

}  // namespace podns::cni
