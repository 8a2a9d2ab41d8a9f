// podns ns info PATH|NAME [--type T] [--json]: what a namespace file is: type, inode, owning user
// namespace, owner uid, parent, nsid (netns). PATH is a pin or /proc/PID/ns/TYPE; a NAME picks
// a pin as `ns pids` does.
#include <fmt/format.h>

#include "ns_common.hpp"
#include "podns/ns_info.hpp"
#include "podns/json_dump.hpp"

namespace podns::cli {
namespace {

nlohmann::ordered_json details_json(const NamespaceDetails& d) {
  auto opt = [](const auto& v) { return v ? nlohmann::ordered_json(static_cast<uint64_t>(*v)) : nlohmann::ordered_json(nullptr); };
  nlohmann::ordered_json j;
  j["path"] = d.path;
  j["type"] = std::string(to_string(d.type));
  j["oci_type"] = std::string(namespace_info(d.type).oci_name);
  j["inode"] = static_cast<uint64_t>(d.id.ino);
  j["dev"] = static_cast<uint64_t>(d.id.dev);
  j["userns_inode"] = opt(d.userns_inode);
  j["owner_uid"] = opt(d.owner_uid);
  if (d.type == NamespaceType::user) j["creator_uid"] = opt(d.creator_uid);
  if (d.type == NamespaceType::pid || d.type == NamespaceType::user) j["parent_inode"] = opt(d.parent_inode);
  if (d.type == NamespaceType::net) j["nsid"] = d.nsid ? nlohmann::ordered_json(*d.nsid) : nlohmann::ordered_json(nullptr);
  return j;
}

void register_ns_info(CLI::App& app, Globals& g, Action& action) {
  auto* cmd = ns_group(app).add_subcommand("info", "Describe a namespace file (type, inode, owner)");
  struct Args {
    std::string path;
    std::string type;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("path", args->path, "Pin path, /proc/PID/ns/TYPE, or pin name")->required();
  cmd->add_option("-t,--type", args->type, "Namespace type (a name: default net, or the only pin of that name)");
  cmd->add_flag("--json", args->json, "JSON output");
  cmd->callback([&g, &action, args] {
    action = [&g, args]() -> Status {
      auto type = parse_optional_type(args->type);
      if (!type) return fail(type.error());
      auto d = describe_namespace(g.paths(), args->path, *type);
      if (!d) return fail_with(d, "info");
      auto j = details_json(*d);
      if (args->json) {
        print_line(json_dump(j, 2));
        return {};
      }
      for (const auto& [k, v] : j.items())
        print_line(fmt::format("{}: {}", k, v.is_string() ? v.get<std::string>() : v.is_null() ? "-" : json_dump(v)));
      return {};
    };
  });
}

Registrar ns_info_registrar("ns", register_ns_info);

}  // namespace
}  // namespace podns::cli
