#include "podns/ns_add.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace podns {

Result<std::vector<PinnedNamespace>> add_namespaces(const AddRequest& req) {
  const std::string what = fmt::format("create namespaces {}", req.name);
  std::vector<NamespaceType> types = req.types.empty() ? std::vector{NamespaceType::net} : req.types;
  bool user = std::find(types.begin(), types.end(), NamespaceType::user) != types.end();
  if (!user) {
    if (req.idmaps) return fail(Errc::invalid_argument, what + ": id maps need a user namespace among the types");
    auto pins = create_pinned(req.paths, types, req.name);
    if (!pins) return fail(pins.error());
    if (req.sysctls.empty()) return pins;
    if (auto st = write_sysctls(*pins, req.sysctls); !st) {
      (void)remove_pinned(req.paths, pins->front().name);  // nothing stays pinned on failure
      return fail_with(st, what);
    }
    return pins;
  }
  if (req.name.empty()) return fail(Errc::invalid_argument, what + ": a set with a user namespace needs a name");
  if (!req.idmaps) return fail(Errc::invalid_argument, what + ": a user namespace needs id maps");
  auto set = create_userns_set(
      {.paths = req.paths, .name = req.name, .types = types, .idmaps = *req.idmaps, .sysctls = req.sysctls});
  if (!set) return fail(set.error());
  return std::move(set->pins);
}

}  // namespace podns
