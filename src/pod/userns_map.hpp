// A pod's id mappings: --userns parsed (with `auto` avoiding the ids of every other pod) and their
// JSON form in the state. Creating the user namespace itself is the ns layer's create_userns_set.
#pragma once

#include <string>

#include "podns/idmap.hpp"
#include "podns/pod/pod.hpp"

namespace podns::pod::detail {

// Parse --userns: "auto" allocates 65536 ids from /etc/subuid+/etc/subgid avoiding the maps of
// `others`; "C:H:S[,...]" is used for both uid and gid.
[[nodiscard]] Result<IdMappings> userns_mappings(const std::string& spec, const std::vector<IdMappings>& others);

nlohmann::json mappings_to_json(const IdMappings& m);
[[nodiscard]] Result<IdMappings> mappings_from_json(const nlohmann::json& j);

}  // namespace podns::pod::detail
