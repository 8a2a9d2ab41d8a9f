// podns ns oci-spec NAME [--merge CONFIG] [--type T]...: the OCI runtime spec fragment that makes a
// runtime join the namespaces pinned as NAME (user namespace first, with the uid/gid mappings read
// back from it), or a whole config.json with them merged in. Warns on stderr when a pinned
// namespace is not owned by the set's user namespace (the runtime would fail to join it).
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "cli.hpp"
#include "podns/namespace_type.hpp"
#include "podns/namespace.hpp"
#include "podns/oci.hpp"
#include "podns/json_dump.hpp"

namespace podns::cli {
namespace {

Status run(const Paths& paths, const std::string& name, const std::vector<std::string>& type_names,
           const std::string& merge) {
  auto set = find_pinned_set(paths, name);
  if (!set) return fail_with(set, "oci-spec");
  if (!type_names.empty()) {
    std::vector<NamespaceType> types;
    for (const auto& n : type_names) {
      auto t = parse_namespace_type(n);
      if (!t) return fail_with(t, "oci-spec: --type");
      types.push_back(*t);
    }
    std::vector<PinnedNamespace> kept;
    for (const auto& p : set->pins)
      if (std::find(types.begin(), types.end(), p.type) != types.end()) kept.push_back(p);
    set->pins = std::move(kept);
    if (set->pins.empty()) return fail(Errc::not_found, fmt::format("oci-spec: {} has none of the given types", name));
  }
  IdMappings maps;
  if (const PinnedNamespace* user = set->find(NamespaceType::user)) {
    auto ns = Namespace::open_path(user->path, NamespaceType::user);
    if (!ns) return fail_with(ns, "oci-spec");
    auto m = read_userns_idmappings(*ns);
    if (!m) return fail_with(m, "oci-spec");
    maps = std::move(*m);
  }
  std::vector<NamespaceRequest> reqs;
  for (const auto& p : set->pins) reqs.push_back({p.type, p.path});
  for (const auto& w : namespace_ownership_warnings(reqs)) fmt::print(stderr, "podns: warning: {}\n", w);

  if (merge.empty()) {
    print_line(json_dump(oci::namespaces_json(*set, maps), 2));
    return {};
  }
  auto config = oci::read_config_json(merge);
  if (!config) return fail_with(config, "oci-spec --merge");
  auto merged = oci::merge_into_config(std::move(*config), *set, maps);
  if (!merged) return fail_with(merged, "oci-spec: " + merge);
  print_line(json_dump(*merged, 2));
  return {};
}

void register_ns_oci_spec(CLI::App& app, Globals& g, Action& action) {
  // The ns group's description is set by whichever verb file registers first; keep it identical.
  auto* cmd = group(app, "ns", "Namespaces: create, pin, attach, list, enter, remove (like `ip netns`)").add_subcommand(
      "oci-spec", "Print the OCI runtime spec namespaces + id mappings that join the namespaces pinned as NAME");
  struct Args {
    std::string name;
    std::vector<std::string> types;
    std::string merge;
    bool json = true;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("name", args->name, "Pin name")->required();
  cmd->add_option("-t,--type", args->types, "Only these types (repeatable; default: every pinned type)");
  cmd->add_option("--merge", args->merge, "Print this config.json with the namespaces and mappings merged in");
  cmd->add_flag("--json", args->json, "JSON output (the only format; accepted for consistency)");
  cmd->callback([&g, &action, args] {
    action = [&g, args]() -> Status { return run(g.paths(), args->name, args->types, args->merge); };
  });
}

Registrar reg("ns", register_ns_oci_spec);

}  // namespace
}  // namespace podns::cli
