#include "podns/pod/userns_ids.hpp"

#include <unistd.h>

#include <optional>

#include <fmt/format.h>

#include "pod/userns_map.hpp"
#include "podns/json_parse.hpp"
#include "podns/paths.hpp"
#include "podns/pin.hpp"
#include "podns/userns.hpp"

namespace podns::pod {
namespace {

void add_in_use(const IdMappings& m, IdMap& uid, IdMap& gid) {
  uid.insert(uid.end(), m.uid.begin(), m.uid.end());
  gid.insert(gid.end(), m.gid.begin(), m.gid.end());
}

}  // namespace

Result<IdReservation> reserve_auto_idmappings(const PodEnv& env, state::Store* store, uint32_t size) {
  const std::string doing = "auto id map";
  auto lock = state::FileLock::acquire(env.paths.locks_dir() + "/userns-ids.lock", state::FileLock::Mode::exclusive,
                                       env.lock_timeout);
  if (!lock) return fail_with(lock, doing);
  IdMap uid_in_use, gid_in_use;
  // Pins whose maps the state already gave: no helper process to read them back from the kernel.
  std::vector<std::string> known_pins;

  std::optional<state::Store> opened;
  if (!store && ::access(env.paths.db_path().c_str(), F_OK) == 0) {
    auto s = state::Store::open(env.paths.db_path(), env.db_busy_timeout, env.db_checkpoint_pages);
    if (!s) return fail_with(s, doing);
    opened = std::move(*s);
    store = &*opened;
  }
  if (store) {
    auto pods = store->list_pods();
    if (!pods) return fail_with(pods, doing);
    for (const auto& p : *pods) {
      if (p.id_mappings.empty()) continue;
      auto j = parse_json(p.id_mappings);
      auto m = j ? detail::mappings_from_json(*j) : Result<IdMappings>(fail(j.error()));
      // A row that cannot be read says nothing: its pod's pin, if any, is read from the kernel.
      if (!m) continue;
      add_in_use(*m, uid_in_use, gid_in_use);
      known_pins.push_back(pin_path(env.paths, NamespaceType::user, p.name));
    }
  }
  auto pinned = pinned_userns_idmappings(env.paths, known_pins);
  if (!pinned) return fail_with(pinned, doing);
  for (const auto& m : *pinned) add_in_use(m, uid_in_use, gid_in_use);

  auto maps = auto_idmappings(size, uid_in_use, gid_in_use, env.subid_files);
  if (!maps) return fail(maps.error());  // "auto id map: no 65536 free subordinate ids left ..."
  return IdReservation(std::move(*maps), std::move(*lock));
}

Result<std::vector<PinnedNamespace>> add_namespaces_with_auto_ids(const PodEnv& env, AddRequest request) {
  const std::string what = fmt::format("create namespaces {}", request.name);
  SetGroups setgroups = request.idmaps ? request.idmaps->setgroups : SetGroups::allow;
  if (request.idmaps && (!request.idmaps->uid.empty() || !request.idmaps->gid.empty()))
    return fail(Errc::invalid_argument, what + ": auto ids come with their own maps");
  auto reservation = reserve_auto_idmappings(env);
  if (!reservation) return fail_with(reservation, what);
  request.idmaps = reservation->maps();
  request.idmaps->setgroups = setgroups;
  return add_namespaces(request);  // the reservation is dropped once the user namespace is pinned
}

}  // namespace podns::pod
