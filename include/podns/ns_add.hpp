// `podns ns add` as one call: new namespaces of any types pinned under one name, with sysctls
// written inside them. With a user namespace among the types the set is user-namespace owned
// (create_userns_set: every other namespace is created inside it, so a runtime can join both);
// without one, create_pinned. Nothing stays pinned when a step fails.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "podns/error.hpp"
#include "podns/idmap.hpp"
#include "podns/namespace_type.hpp"
#include "podns/paths.hpp"
#include "podns/pin.hpp"
#include "podns/userns.hpp"

namespace podns {

struct AddRequest {
  Paths paths;
  // The pin name; empty: a random cni-xxxxxxxx-... name (as `ip netns add` users expect from
  // CNI), which a set with a user namespace cannot have.
  std::string name;
  std::vector<NamespaceType> types;  // empty: net
  // Required with a user namespace, refused without one. For `auto` ids, take them from
  // pod::reserve_auto_idmappings and keep its reservation until this returns.
  std::optional<IdMappings> idmaps;
  std::vector<Sysctl> sysctls;  // each needs its namespace type in `types`
};

// The pins made, user first when there is one, then the table order.
[[nodiscard]] Result<std::vector<PinnedNamespace>> add_namespaces(const AddRequest& request);

}  // namespace podns
