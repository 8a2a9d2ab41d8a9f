// The OCI runtime spec's view of namespaces and id mappings (config.json `linux.namespaces`,
// `linux.uidMappings`, `linux.gidMappings`): read them, filter them by type, spawn a process with
// them, and emit them for a pinned set so a runtime's config.json joins podns's namespaces
// (user namespace included, with the maps it was created with).
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "podns/error.hpp"
#include "podns/idmap.hpp"
#include "podns/paths.hpp"
#include "podns/process.hpp"
#include "podns/spawn.hpp"
#include "podns/userns.hpp"

namespace podns::oci {

struct LinuxNamespaces {
  std::vector<NamespaceRequest> namespaces;  // path empty: the runtime creates it
  IdMappings idmaps;                         // empty when the spec has none
};

// Parse the `linux` part of a config.json (the whole document). Errors (Errc::invalid_argument,
// naming the JSON path): unknown namespace type, a type listed twice, a relative path, a malformed
// or invalid mapping (see validate_idmap), mappings without a user namespace. A spec without
// `linux` or without `linux.namespaces` has no namespaces.
[[nodiscard]] Result<LinuxNamespaces> parse_config(const nlohmann::json& config);
[[nodiscard]] Result<LinuxNamespaces> parse_config_text(std::string_view json_text);
// read_config_json + parse_config.
[[nodiscard]] Result<LinuxNamespaces> load_config(const std::string& path);
// The config.json at `path` as JSON: a regular file (a FIFO or device in its place fails at once
// instead of hanging), at most 16 MiB, nested at most 64 deep; Errc::invalid_argument otherwise.
[[nodiscard]] Result<nlohmann::json> read_config_json(const std::string& path);

// Keep only the namespaces of the given types (the mappings stay when user is kept).
LinuxNamespaces filter(const LinuxNamespaces& spec, std::span<const NamespaceType> keep);

// Spawn `base` (argv, env, fds, cwd) inside the spec's namespaces: joined by path or created,
// with the spec's id maps for a created user namespace. base.namespaces/idmaps are replaced.
[[nodiscard]] Result<ChildProcess> spawn_with(const LinuxNamespaces& spec, SpawnRequest base);

// Warnings a runtime would turn into failures (see namespace_ownership_warnings).
std::vector<std::string> warnings(const LinuxNamespaces& spec);

// JSON for an id map: [{"containerID":0,"hostID":100000,"size":65536}, ...].
nlohmann::json idmap_json(const IdMap& map);
[[nodiscard]] Result<IdMap> parse_idmap_json(const nlohmann::json& j, std::string_view what);

// {"linux": {"namespaces": [{"type": "user", "path": ...}, {"type": "network", "path": ...}],
//            "uidMappings": [...], "gidMappings": [...]}} for a pinned set; mappings only when the
// set has a user namespace and `maps` is not empty.
nlohmann::json namespaces_json(const PinnedSet& set, const IdMappings& maps);
struct PinsSpecRequest {
  Paths paths;
  std::string name;                         // the pins named this (any types)
  std::vector<NamespaceType> types;         // only these types; empty: every pinned type
  std::optional<nlohmann::json> merge_into;  // a config.json to put them in; nullopt: the fragment
};

// namespaces_json (or merge_into_config) for the pins a request names, with the maps read back
// from the user pin. Warnings about a set a runtime would fail to join (a namespace not owned by
// the set's user namespace: namespace_ownership_warnings) go to `warn`.
[[nodiscard]] Result<nlohmann::json> spec_for_pins(const PinsSpecRequest& request,
                                                   const std::function<void(const std::string&)>& warn = {});
// Put a pinned set into an existing config.json: namespaces of the set's types are replaced by
// path entries, others are kept; the mappings are replaced when the set has a user namespace.
[[nodiscard]] Result<nlohmann::json> merge_into_config(nlohmann::json config, const PinnedSet& set,
                                                       const IdMappings& maps);

}  // namespace podns::oci
