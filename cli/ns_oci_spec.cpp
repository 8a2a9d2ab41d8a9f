// podns ns oci-spec NAME [--merge CONFIG] [--type T]...: the OCI runtime spec fragment that makes a
// runtime join the namespaces pinned as NAME (user namespace first, with the uid/gid mappings read
// back from it), or a whole config.json with them merged in. Warns on stderr when a pinned
// namespace is not owned by the set's user namespace (the runtime would fail to join it).
#include <fmt/format.h>

#include <cstdio>

#include "ns_common.hpp"
#include "podns/namespace_type.hpp"
#include "podns/oci.hpp"
#include "podns/json_dump.hpp"

namespace podns::cli {
namespace {

Status run(const Paths& paths, const std::string& name, const std::vector<std::string>& type_names,
           const std::string& merge) {
  oci::PinsSpecRequest req{.paths = paths, .name = name};
  for (const auto& n : type_names) {
    auto t = parse_namespace_type(n);
    if (!t) return fail_with(t, "oci-spec: --type");
    req.types.push_back(*t);
  }
  if (!merge.empty()) {
    auto config = oci::read_config_json(merge);
    if (!config) return fail_with(config, "oci-spec --merge");
    req.merge_into = std::move(*config);
  }
  auto spec = oci::spec_for_pins(req, [](const std::string& w) { fmt::print(stderr, "podns: warning: {}\n", w); });
  if (!spec) return merge.empty() ? fail(spec.error()) : fail_with(spec, "oci-spec --merge " + merge);
  print_line(json_dump(*spec, 2));
  return {};
}

void register_ns_oci_spec(CLI::App& app, Globals& g, Action& action) {
  auto* cmd = ns_group(app).add_subcommand(
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

Registrar ns_oci_spec_registrar("ns", register_ns_oci_spec);

}  // namespace
}  // namespace podns::cli
