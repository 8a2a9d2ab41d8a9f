// CNI network configuration: loading a network by name from a conf dir the way libcni does, version
// negotiation, validation. Plugin objects are kept as parsed JSON so keys podns does not know pass
// through to the plugin unchanged.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "podns/error.hpp"

namespace podns::cni {

inline constexpr std::string_view kDefaultConfDir = "/etc/cni/net.d";
// NETCONFPATH, else kDefaultConfDir: where cnitool looks, and podns with it.
std::string conf_dir_from_environment();

struct PluginConfig {
  std::string type;                         // binary name, never a path
  std::map<std::string, bool> capabilities; // from "capabilities"
  nlohmann::json raw;                       // the plugin object exactly as configured
};

struct NetworkConfigList {
  std::string name;
  std::string cni_version;                // negotiated: the highest of cniVersion/cniVersions podns supports
  std::vector<std::string> cni_versions;  // every version the config declares and podns supports, newest first
  bool disable_check = false;
  bool disable_gc = false;
  bool load_only_inlined_plugins = false;
  std::vector<PluginConfig> plugins;
  std::string bytes;   // the config as a conflist document (what the result cache stores)
  std::string source;  // the file it came from, empty when parsed from memory
};

// A .conflist document. Errc::corrupt for malformed JSON, Errc::invalid_argument for a config that
// breaks the spec (missing/invalid name, no plugins, a type with '/', an unsupported cniVersion).
[[nodiscard]] Result<NetworkConfigList> parse_network_list(std::string_view json);
// A single-plugin .conf/.json document, wrapped into a list of one.
[[nodiscard]] Result<NetworkConfigList> parse_network_config(std::string_view json);

// Load network `name` from `conf_dir`: *.conflist sorted lexically first, then *.conf/*.json; then,
// unless loadOnlyInlinedPlugins, the plugins in <conf_dir>/<name>/*.conf (sorted) appended. Files
// that do not parse are skipped, and named in the not-found error if the network is not found.
[[nodiscard]] Result<NetworkConfigList> load_network(const std::string& conf_dir, const std::string& name);

// Names of every loadable network in `conf_dir`, in load order (first file wins for a name).
[[nodiscard]] Result<std::vector<NetworkConfigList>> load_networks(const std::string& conf_dir);

// Spec naming rules. Network names and container ids: ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$. Plugin types:
// non-empty, no '/' or '\\', not "." or "..".
[[nodiscard]] Status validate_network_name(std::string_view name);
[[nodiscard]] Status validate_container_id(std::string_view id);
[[nodiscard]] Status validate_plugin_type(std::string_view type);

}  // namespace podns::cni
