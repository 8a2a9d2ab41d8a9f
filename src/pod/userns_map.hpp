// A pod's id mappings: an explicit --userns parsed, and their JSON form in the state. `auto` is
// reserve_auto_idmappings (podns/pod/userns_ids.hpp); creating the user namespace itself is the
// ns layer's create_userns_set.
#pragma once

#include <string>

#include "podns/idmap.hpp"
#include "podns/pod/pod.hpp"

namespace podns::pod::detail {

// Parse --userns "C:H:S[,...]", used for both uid and gid.
[[nodiscard]] Result<IdMappings> explicit_userns_mappings(const std::string& spec);

nlohmann::json mappings_to_json(const IdMappings& m);
[[nodiscard]] Result<IdMappings> mappings_from_json(const nlohmann::json& j);

}  // namespace podns::pod::detail
