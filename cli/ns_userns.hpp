// The user-namespace side of `podns ns add` and `podns ns exec` (engineer B's part, kept out of the
// verb files): --map/--gid-map/--setgroups/--sysctl/--owner-of for add, and entering a set that
// contains a user namespace for exec (through spawn(): the user namespace needs a helper process,
// uid/gid 0 inside, a fresh sysfs of the set's netns).
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "podns/idmap.hpp"
#include "podns/pin.hpp"
#include "podns/pod/userns_ids.hpp"
#include "podns/spawn.hpp"
#include "podns/userns.hpp"

namespace podns::cli {

struct UsernsAddArgs {
  std::string map;        // CONTAINER:HOST:SIZE[,...] | auto
  std::string gid_map;    // default: the uid map
  std::string setgroups;  // allow | deny
  std::vector<std::string> sysctls;
  std::string owner_of;   // pin the user namespace owning this namespace file as NAME
};

inline void add_userns_add_options(CLI::App* cmd, UsernsAddArgs& a) {
  cmd->add_option("--map", a.map, "uid map for --type user: CONTAINER:HOST:SIZE[,...], or auto (from /etc/subuid)");
  cmd->add_option("--gid-map", a.gid_map, "gid map (default: same as --map)");
  cmd->add_option("--setgroups", a.setgroups, "allow|deny setgroups(2) in the new user namespace (default allow)")
      ->check(CLI::IsMember({"allow", "deny"}));
  cmd->add_option("--sysctl", a.sysctls, "KEY=VALUE written inside the new namespaces (net.*, kernel.hostname, ...), repeatable")
      ->allow_extra_args(false);
  cmd->add_option("--owner-of", a.owner_of, "Pin the user namespace that owns this namespace file as NAME (NS_GET_USERNS)");
}

// Runs `ns add` when the userns options or --type user ask for it; nullopt: not ours, A's path runs.
// On success the created pin paths.
inline std::optional<Result<std::vector<std::string>>> run_userns_add(const Paths& paths, const std::string& name,
                                                                    const std::vector<NamespaceType>& types,
                                                                    const UsernsAddArgs& a) {
  using R = Result<std::vector<std::string>>;
  std::string what = "create namespaces " + name;
  if (!a.owner_of.empty()) {
    auto pin = pin_owning_userns(paths, a.owner_of, name);
    if (!pin) return R(fail(pin.error()));
    return R(std::vector<std::string>{pin->path});
  }
  std::vector<Sysctl> sysctls;
  for (const auto& s : a.sysctls) {
    auto sc = parse_sysctl(s);
    if (!sc) return R(fail_with(sc, what));
    sysctls.push_back(*sc);
  }
  bool user = std::find(types.begin(), types.end(), NamespaceType::user) != types.end();
  if (!user) {
    if (!a.map.empty() || !a.gid_map.empty() || !a.setgroups.empty())
      return R(fail(Errc::invalid_argument, what + ": --map, --gid-map and --setgroups need --type user"));
    if (sysctls.empty()) return std::nullopt;
    auto pins = create_pinned(paths, types, name);
    if (!pins) return R(fail(pins.error()));
    if (auto st = write_sysctls(*pins, sysctls); !st) {
      (void)remove_pinned(paths, pins->front().name);  // nothing stays pinned on failure
      return R(fail_with(st, what));
    }
    std::vector<std::string> out;
    for (const auto& p : *pins) out.push_back(p.path);
    return R(std::move(out));
  }
  if (name.empty()) return R(fail(Errc::invalid_argument, what + ": a user namespace set needs a NAME"));
  if (a.map.empty()) return R(fail(Errc::invalid_argument, what + ": --type user needs --map (or --map auto)"));
  IdMappings maps;
  // `auto` holds the allocator's lock until the user namespace is pinned (the end of this
  // function): a concurrent `ns add --map auto` or `pod create --userns auto` sees the pin.
  std::optional<pod::IdReservation> reservation;
  if (a.map == "auto") {
    if (!a.gid_map.empty()) return R(fail(Errc::invalid_argument, what + ": --map auto picks the gid map too"));
    auto r = pod::reserve_auto_idmappings(pod::PodEnv::from_paths(paths));
    if (!r) return R(fail_with(r, what));
    maps = r->maps();
    reservation = std::move(*r);
  } else {
    auto u = parse_idmap(a.map);
    if (!u) return R(fail_with(u, what + ": --map"));
    maps.uid = *u;
    if (a.gid_map.empty()) {
      maps.gid = *u;
    } else {
      auto g = parse_idmap(a.gid_map);
      if (!g) return R(fail_with(g, what + ": --gid-map"));
      maps.gid = std::move(*g);
    }
  }
  if (a.setgroups == "deny") maps.setgroups = SetGroups::deny;
  auto set = create_userns_set({.paths = paths, .name = name, .types = types, .idmaps = maps, .sysctls = sysctls});
  if (!set) return R(fail(set.error()));
  std::vector<std::string> out;
  for (const auto& p : set->pins) out.push_back(p.path);
  return R(std::move(out));
}

// `ns exec` of a set that contains a user namespace; nullopt when it has none (A's path runs).
inline std::optional<Result<int>> run_userns_exec(const Paths& paths, const std::string& name,
                                                  const std::vector<std::string>& argv) {
  auto set = find_pinned_set(paths, name);
  if (!set || !set->find(NamespaceType::user)) return std::nullopt;
  SpawnRequest req;
  req.argv = argv;
  for (const auto& p : set->pins) req.namespaces.push_back({p.type, p.path});
  for (const auto& w : namespace_ownership_warnings(req.namespaces)) fmt::print(stderr, "podns: warning: {}\n", w);
  // As `ip netns exec`: a mount namespace of our own with the netns's sysfs on /sys.
  if (set->find(NamespaceType::net) && !set->find(NamespaceType::mnt)) {
    req.namespaces.push_back({NamespaceType::mnt, ""});
    req.fresh_sysfs = true;
  }
  auto child = spawn(req);
  if (!child) return Result<int>(fail_with(child, "exec in " + name));
  return child->wait();
}

}  // namespace podns::cli
