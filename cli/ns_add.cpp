// podns ns add [NAME] [--type T]...: new namespaces pinned as NAME (default type net, like
// `ip netns add`; several types in one call, like CRI-O's pinns). With --type user the set is
// owned by the new user namespace (--map, --gid-map, --setgroups); --sysctl writes inside the new
// namespaces; --owner-of pins the user namespace that owns a namespace file. Prints each pin path.
#include <algorithm>
#include <memory>

#include "ns_common.hpp"
#include "podns/names.hpp"
#include "podns/ns_add.hpp"
#include "podns/pod/userns_ids.hpp"

namespace podns::cli {
namespace {

struct Args {
  std::string name;
  std::vector<std::string> types;
  std::string map;        // CONTAINER:HOST:SIZE[,...] | auto
  std::string gid_map;    // default: the uid map
  std::string setgroups;  // allow | deny
  std::vector<std::string> sysctls;
  std::string owner_of;
};

// The id maps --map, --gid-map and --setgroups ask for; --map auto leaves the ids to the library
// (pod::add_namespaces_with_auto_ids), so only setgroups is set then.
Result<IdMappings> idmaps_from_flags(const Args& a) {
  IdMappings maps;
  if (a.map == "auto") {
    if (!a.gid_map.empty()) return fail(Errc::invalid_argument, "--map auto picks the gid map too");
  } else {
    auto u = parse_idmap(a.map);
    if (!u) return fail_with(u, "--map");
    maps.uid = *u;
    maps.gid = *u;
    if (!a.gid_map.empty()) {
      auto g = parse_idmap(a.gid_map);
      if (!g) return fail_with(g, "--gid-map");
      maps.gid = std::move(*g);
    }
  }
  if (a.setgroups == "deny") maps.setgroups = SetGroups::deny;
  return maps;
}

Status add(const Paths& paths, const Args& a, bool empty_name_given) {
  const std::string what = "create namespaces " + a.name;
  if (empty_name_given) {
    if (auto st = validate_name(""); !st) return fail_with(st, "create namespaces");
  }
  if (!a.owner_of.empty()) {
    auto pin = pin_owning_userns(paths, a.owner_of, a.name);
    if (!pin) return fail(pin.error());
    print_line(pin->path);
    return {};
  }
  auto types = parse_types(a.types, {NamespaceType::net});
  if (!types) return fail(types.error());
  AddRequest req{.paths = paths, .name = a.name, .types = *types};
  for (const auto& s : a.sysctls) {
    auto sc = parse_sysctl(s);
    if (!sc) return fail_with(sc, what);
    req.sysctls.push_back(*sc);
  }
  bool user = std::find(types->begin(), types->end(), NamespaceType::user) != types->end();
  bool map_flags = !a.map.empty() || !a.gid_map.empty() || !a.setgroups.empty();
  if (!user && map_flags) return fail(Errc::invalid_argument, what + ": --map, --gid-map and --setgroups need --type user");
  if (user && a.map.empty()) return fail(Errc::invalid_argument, what + ": --type user needs --map (or --map auto)");
  if (user) {
    auto maps = idmaps_from_flags(a);
    if (!maps) return fail_with(maps, what);
    req.idmaps = std::move(*maps);
  }
  auto pins = a.map == "auto" ? pod::add_namespaces_with_auto_ids(pod::PodEnv::from_paths(paths), std::move(req))
                              : add_namespaces(req);
  if (!pins) return fail(pins.error());
  for (const auto& p : *pins) print_line(p.path);
  return {};
}

void register_ns_add(CLI::App& app, Globals& g, Action& action) {
  auto* cmd = ns_group(app).add_subcommand("add", "Create namespaces and pin them (default: a network namespace)");
  auto args = std::make_shared<Args>();
  auto* name_opt = cmd->add_option("name", args->name, "Pin name (default: a random cni-xxxxxxxx-... name)");
  cmd->add_option("-t,--type", args->types, "Namespace type (net ipc uts mnt pid cgroup time; OCI names too), repeatable")
      ->allow_extra_args(false);
  cmd->add_option("--map", args->map, "uid map for --type user: CONTAINER:HOST:SIZE[,...], or auto (from /etc/subuid)");
  cmd->add_option("--gid-map", args->gid_map, "gid map (default: same as --map)");
  cmd->add_option("--setgroups", args->setgroups, "allow|deny setgroups(2) in the new user namespace (default allow)")
      ->check(CLI::IsMember({"allow", "deny"}));
  cmd->add_option("--sysctl", args->sysctls, "KEY=VALUE written inside the new namespaces (net.*, kernel.hostname, ...), repeatable")
      ->allow_extra_args(false);
  cmd->add_option("--owner-of", args->owner_of, "Pin the user namespace that owns this namespace file as NAME (NS_GET_USERNS)");
  cmd->callback([&g, &action, args, name_opt] {
    // An explicitly empty NAME is an error, not a request for a random one.
    bool empty_given = name_opt->count() > 0 && args->name.empty();
    action = [&g, args, empty_given] { return add(g.paths(), *args, empty_given); };
  });
}

Registrar ns_add_registrar("ns", register_ns_add);

}  // namespace
}  // namespace podns::cli
