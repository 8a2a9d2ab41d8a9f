#include "pod/userns_map.hpp"

#include <fmt/format.h>

#include "podns/json_integer.hpp"

namespace podns::pod::detail {

Result<IdMappings> explicit_userns_mappings(const std::string& spec) {
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
    auto range = [](const nlohmann::json& r) {
      return IdMapRange{json_integer_at<uint32_t>(r, "containerID"), json_integer_at<uint32_t>(r, "hostID"),
                        json_integer_at<uint32_t>(r, "size")};
    };
    IdMappings m;
    for (const auto& r : j.at("uidMappings")) m.uid.push_back(range(r));
    for (const auto& r : j.at("gidMappings")) m.gid.push_back(range(r));
    return m;
  } catch (const nlohmann::json::exception& e) {
    return fail(Errc::corrupt, fmt::format("stored id mappings: {}", e.what()));
  }
}

}  // namespace podns::pod::detail
