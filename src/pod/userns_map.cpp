#include "pod/userns_map.hpp"

#include <fmt/format.h>

#include "podns/oci.hpp"

namespace podns::pod::detail {

Result<IdMappings> explicit_userns_mappings(const std::string& spec) {
  auto map = parse_idmap(spec);
  if (!map) return fail_with(map, fmt::format("--userns {}", spec));
  IdMappings maps{*map, *map, SetGroups::allow};
  if (auto s = validate_idmappings(maps); !s) return fail_with(s, fmt::format("--userns {}", spec));
  return maps;
}

// The state keeps a pod's maps in the runtime spec's shape, through oci's one codec.
nlohmann::json mappings_to_json(const IdMappings& m) {
  return {{"uidMappings", oci::idmap_json(m.uid)}, {"gidMappings", oci::idmap_json(m.gid)}};
}

Result<IdMappings> mappings_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return fail(Errc::corrupt, "stored id mappings: not an object");
  IdMappings m;
  for (auto [key, map] : {std::pair{"uidMappings", &m.uid}, std::pair{"gidMappings", &m.gid}}) {
    auto parsed = oci::parse_idmap_json(j.contains(key) ? j[key] : nlohmann::json(), key);
    if (!parsed) return fail(Errc::corrupt, fmt::format("stored id mappings: {}", parsed.error().message()));
    *map = std::move(*parsed);
  }
  return m;
}

}  // namespace podns::pod::detail
