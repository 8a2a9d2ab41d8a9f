#include "pod/userns_pin.hpp"

#include <fmt/format.h>

#include "podns/namespace.hpp"
#include "podns/spawn.hpp"

namespace podns::pod::detail {

Result<IdMappings> userns_mappings(const std::string& spec, const std::vector<IdMappings>& others) {
  if (spec == "auto") {
    IdMap uid_in_use, gid_in_use;
    for (const auto& m : others) {
      uid_in_use.insert(uid_in_use.end(), m.uid.begin(), m.uid.end());
      gid_in_use.insert(gid_in_use.end(), m.gid.begin(), m.gid.end());
    }
    auto maps = auto_idmappings(65536, uid_in_use, gid_in_use);
    if (!maps) return fail_with(maps, "--userns auto");
    return maps;
  }
  auto map = parse_idmap(spec);
  if (!map) return fail_with(map, fmt::format("--userns {}", spec));
  IdMappings maps{*map, *map, SetGroups::allow};
  if (auto s = validate_idmappings(maps); !s) return fail_with(s, fmt::format("--userns {}", spec));
  return maps;
}

nlohmann::json mappings_to_json(const IdMappings& m) {
  auto one = [](const IdMap& map) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& r : map) a.push_back({{"containerID", r.container_id}, {"hostID", r.host_id}, {"size", r.size}});
    return a;
  };
  return {{"uidMappings", one(m.uid)}, {"gidMappings", one(m.gid)}};
}

Result<IdMappings> mappings_from_json(const nlohmann::json& j) {
  try {
    IdMappings m;
    for (const auto& r : j.at("uidMappings"))
      m.uid.push_back({r.at("containerID").get<uint32_t>(), r.at("hostID").get<uint32_t>(), r.at("size").get<uint32_t>()});
    for (const auto& r : j.at("gidMappings"))
      m.gid.push_back({r.at("containerID").get<uint32_t>(), r.at("hostID").get<uint32_t>(), r.at("size").get<uint32_t>()});
    return m;
  } catch (const nlohmann::json::exception& e) {
    return fail(Errc::corrupt, fmt::format("stored id mappings: {}", e.what()));
  }
}

Result<std::vector<PinnedNamespace>> create_userns_pinned(const PodEnv& env, const std::string& name,
                                                          const IdMappings& maps,
                                                          std::span<const NamespaceType> types) {
  SpawnRequest req;
  // The child only has to exist while its namespaces are bind-mounted; it never runs anything.
  req.argv = {"sleep", "3600"};
  req.namespaces.push_back({NamespaceType::user, ""});
  for (auto t : types) req.namespaces.push_back({t, ""});
  req.idmaps = maps;
  auto child = spawn(req);
  if (!child) return fail_with(child, "start user namespace helper");
  std::vector<NamespaceType> all{NamespaceType::user};
  all.insert(all.end(), types.begin(), types.end());
  // attach() verifies through the pidfd that the child is still the one we started.
  auto pins = attach(env.paths, name, child->pid(), all);
  (void)child->kill_and_wait();
  if (!pins) return fail_with(pins, "pin the user namespace and the namespaces it owns");
  // Belt and braces: the pinned netns must be a new one, never ours.
  auto own = Namespace::open_current(NamespaceType::net);
  for (const auto& p : *pins) {
    if (own && p.type == NamespaceType::net && p.id == own->id()) {
      (void)remove_pinned(env.paths, name, all);
      return fail(Errc::unsupported, "user namespace helper did not create a network namespace");
    }
  }
  return pins;
}

}  // namespace podns::pod::detail
