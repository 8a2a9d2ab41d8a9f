// Pinning a pod's namespaces inside a new user namespace.
#pragma once

#include <span>
#include <string>

#include "podns/idmap.hpp"
#include "podns/pin.hpp"
#include "podns/pod/pod.hpp"

namespace podns::pod::detail {

// Parse --userns: "auto" allocates 65536 ids from /etc/subuid+/etc/subgid avoiding the maps of
// `others`; "C:H:S[,...]" is used for both uid and gid.
[[nodiscard]] Result<IdMappings> userns_mappings(const std::string& spec, const std::vector<IdMappings>& others);

nlohmann::json mappings_to_json(const IdMappings& m);
[[nodiscard]] Result<IdMappings> mappings_from_json(const nlohmann::json& j);

// A helper child creates the user namespace (the parent writes its maps), then, inside it, new
// namespaces of `types`, which are therefore owned by it; all of them are pinned as `name` (user in
// ns_dir("user")) and the child is killed. On failure nothing is left pinned.
[[nodiscard]] Result<std::vector<PinnedNamespace>> create_userns_pinned(const PodEnv& env, const std::string& name,
                                                                        const IdMappings& maps,
                                                                        std::span<const NamespaceType> types);

}  // namespace podns::pod::detail
