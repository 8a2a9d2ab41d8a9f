// OCI runtime spec namespaces and id mappings: parse, filter, spawn, emit. nlohmann's exceptions
// stay inside this file; the API returns Results.
#include <algorithm>

#include <fmt/format.h>

#include "podns/json_parse.hpp"
#include "podns/namespace.hpp"
#include "podns/oci.hpp"

namespace podns::oci {
namespace {

using nlohmann::json;

// A config.json is a few KiB written by the user or their tools; what is refused is their mistake.
constexpr JsonLimits kConfigLimits{.error = Errc::invalid_argument};

}  // namespace

Result<IdMap> parse_idmap_json(const json& j, std::string_view what) {
  if (!j.is_array()) return fail(Errc::invalid_argument, fmt::format("{}: not an array", what));
  IdMap map;
  for (size_t i = 0; i < j.size(); ++i) {
    const json& e = j[i];
    auto field = [&](const char* key) -> Result<uint32_t> {
      if (!e.is_object() || !e.contains(key))
        return fail(Errc::invalid_argument, fmt::format("{}[{}]: missing {}", what, i, key));
      const json& v = e[key];
      if (!v.is_number_unsigned() || v.get<uint64_t>() > UINT32_MAX)
        return fail(Errc::invalid_argument, fmt::format("{}[{}].{}: not a 32-bit unsigned number", what, i, key));
      return static_cast<uint32_t>(v.get<uint64_t>());
    };
    auto c = field("containerID");
    if (!c) return fail(c.error());
    auto h = field("hostID");
    if (!h) return fail(h.error());
    auto s = field("size");
    if (!s) return fail(s.error());
    map.push_back({*c, *h, *s});
  }
  if (auto s = validate_idmap(map, what); !s) return fail(s.error());
  return map;
}

json idmap_json(const IdMap& map) {
  json out = json::array();
  for (const auto& r : map) out.push_back({{"containerID", r.container_id}, {"hostID", r.host_id}, {"size", r.size}});
  return out;
}

Result<LinuxNamespaces> parse_config(const json& config) {
  LinuxNamespaces out;
  if (!config.is_object()) return fail(Errc::invalid_argument, "config: not a JSON object");
  if (!config.contains("linux")) return out;
  const json& linux = config["linux"];
  if (!linux.is_object()) return fail(Errc::invalid_argument, "linux: not an object");
  bool have_user = false;
  if (linux.contains("namespaces")) {
    const json& nss = linux["namespaces"];
    if (!nss.is_array()) return fail(Errc::invalid_argument, "linux.namespaces: not an array");
    unsigned seen = 0;
    for (size_t i = 0; i < nss.size(); ++i) {
      const json& e = nss[i];
      std::string where = fmt::format("linux.namespaces[{}]", i);
      if (!e.is_object() || !e.contains("type") || !e["type"].is_string())
        return fail(Errc::invalid_argument, where + ": needs a string \"type\"");
      std::string type_name = e["type"].get<std::string>();
      auto type = parse_namespace_type(type_name);
      if (!type) return fail_with(type, where);
      // The spec names them "network" and "mount"; podns's short names are refused here so a
      // config.json podns accepts is one every runtime accepts.
      if (namespace_info(*type).oci_name != type_name)
        return fail(Errc::invalid_argument, fmt::format("{}: type \"{}\" is not an OCI name (use \"{}\")", where,
                                                        type_name, namespace_info(*type).oci_name));
      unsigned bit = 1u << static_cast<unsigned>(*type);
      if (seen & bit) return fail(Errc::invalid_argument, fmt::format("{}: type {} listed twice", where, type_name));
      seen |= bit;
      std::string path;
      if (e.contains("path")) {
        if (!e["path"].is_string()) return fail(Errc::invalid_argument, where + ".path: not a string");
        path = e["path"].get<std::string>();
        if (!path.empty() && path.front() != '/')
          return fail(Errc::invalid_argument, fmt::format("{}.path \"{}\": not absolute", where, path));
      }
      have_user |= *type == NamespaceType::user;
      out.namespaces.push_back({*type, std::move(path)});
    }
  }
  bool has_uid = linux.contains("uidMappings") && !linux["uidMappings"].empty();
  bool has_gid = linux.contains("gidMappings") && !linux["gidMappings"].empty();
  if (has_uid) {
    auto m = parse_idmap_json(linux["uidMappings"], "linux.uidMappings");
    if (!m) return fail(m.error());
    out.idmaps.uid = std::move(*m);
  }
  if (has_gid) {
    auto m = parse_idmap_json(linux["gidMappings"], "linux.gidMappings");
    if (!m) return fail(m.error());
    out.idmaps.gid = std::move(*m);
  }
  if ((has_uid || has_gid) && !have_user)
    return fail(Errc::invalid_argument, "linux.uidMappings/gidMappings given without a user namespace");
  if (auto s = validate_idmappings(out.idmaps); !s) return fail_with(s, "linux");
  return out;
}

Result<LinuxNamespaces> parse_config_text(std::string_view text) {
  auto j = parse_json(text, kConfigLimits);
  if (!j) return fail_with(j, "config");
  return parse_config(*j);
}

Result<json> read_config_json(const std::string& path) {
  // A regular file only, bounded: a FIFO or a device given as config.json fails at once instead
  // of hanging the caller, and a huge file is refused before it is read.
  return read_json_file(path, kConfigLimits);
}

Result<LinuxNamespaces> load_config(const std::string& path) {
  auto j = read_config_json(path);
  if (!j) return fail(j.error());
  auto spec = parse_config(*j);
  if (!spec) return fail_with(spec, path);
  return spec;
}

LinuxNamespaces filter(const LinuxNamespaces& spec, std::span<const NamespaceType> keep) {
  LinuxNamespaces out;
  bool user = false;
  for (const auto& n : spec.namespaces) {
    if (std::find(keep.begin(), keep.end(), n.type) == keep.end()) continue;
    out.namespaces.push_back(n);
    user |= n.type == NamespaceType::user;
  }
  if (user) out.idmaps = spec.idmaps;
  return out;
}

Result<ChildProcess> spawn_with(const LinuxNamespaces& spec, SpawnRequest base) {
  base.namespaces = spec.namespaces;
  base.idmaps = spec.idmaps;
  return spawn(base);
}

std::vector<std::string> warnings(const LinuxNamespaces& spec) { return namespace_ownership_warnings(spec.namespaces); }

json namespaces_json(const PinnedSet& set, const IdMappings& maps) {
  json nss = json::array();
  bool user = false;
  for (const auto& info : all_namespaces()) {
    const PinnedNamespace* p = set.find(info.type);
    if (!p) continue;
    nss.push_back({{"type", std::string(info.oci_name)}, {"path", p->path}});
    user |= info.type == NamespaceType::user;
  }
  json linux = {{"namespaces", nss}};
  if (user && !maps.empty()) {
    linux["uidMappings"] = idmap_json(maps.uid);
    linux["gidMappings"] = idmap_json(maps.gid);
  }
  return json{{"linux", linux}};
}

Result<json> spec_for_pins(const PinsSpecRequest& req, const std::function<void(const std::string&)>& warn) {
  auto set = find_pinned_set(req.paths, req.name);
  if (!set) return fail_with(set, "oci spec");
  if (!req.types.empty()) {
    std::erase_if(set->pins, [&](const PinnedNamespace& p) {
      return std::find(req.types.begin(), req.types.end(), p.type) == req.types.end();
    });
    if (set->pins.empty()) return fail(Errc::not_found, fmt::format("oci spec: {} has none of the given types", req.name));
  }
  IdMappings maps;
  if (const PinnedNamespace* user = set->find(NamespaceType::user)) {
    auto ns = Namespace::open_path(user->path, NamespaceType::user);
    if (!ns) return fail_with(ns, "oci spec");
    auto m = read_userns_idmappings(*ns);
    if (!m) return fail_with(m, "oci spec: id maps of " + user->path);
    maps = std::move(*m);
  }
  if (warn) {
    std::vector<NamespaceRequest> joined;
    for (const auto& p : set->pins) joined.push_back({p.type, p.path});
    for (const auto& w : namespace_ownership_warnings(joined)) warn(w);
  }
  if (!req.merge_into) return namespaces_json(*set, maps);
  return merge_into_config(*req.merge_into, *set, maps);
}

Result<json> merge_into_config(json config, const PinnedSet& set, const IdMappings& maps) {
  if (!config.is_object()) return fail(Errc::invalid_argument, "config: not a JSON object");
  try {
    json& linux = config["linux"];
    if (!linux.is_object()) linux = json::object();
    json kept = json::array();
    if (linux.contains("namespaces") && linux["namespaces"].is_array()) {
      for (const auto& e : linux["namespaces"]) {
        auto type = e.is_object() && e.contains("type") && e["type"].is_string()
                        ? parse_namespace_type(e["type"].get<std::string>())
                        : Result<NamespaceType>(fail(Errc::invalid_argument, "linux.namespaces: entry without type"));
        if (!type) return fail(type.error());
        if (!set.find(*type)) kept.push_back(e);
      }
    }
    json ours = namespaces_json(set, maps)["linux"];
    for (const auto& e : ours["namespaces"]) kept.push_back(e);
    linux["namespaces"] = kept;
    if (ours.contains("uidMappings")) {
      linux["uidMappings"] = ours["uidMappings"];
      linux["gidMappings"] = ours["gidMappings"];
    }
  } catch (const json::exception& e) {
    return fail(Errc::invalid_argument, fmt::format("config: {}", e.what()));
  }
  return config;
}

}  // namespace podns::oci
