// podns ns info PATH [--json]: what a namespace file is: type, inode, owning user namespace, owner
// uid, parent, nsid (netns). PATH is a pin, /proc/PID/ns/TYPE or a pin name.
#include <sys/stat.h>

#include <fmt/format.h>

#include "ns_common.hpp"
#include "podns/ns_info.hpp"
#include "podns/json_dump.hpp"

namespace podns::cli {
namespace {

Result<nlohmann::ordered_json> describe(const Paths& paths, const std::string& arg) {
  std::string path = arg;
  // A bare name (no '/') that is no file here: look it up among the pins.
  struct stat st {};
  if (arg.find('/') == std::string::npos && ::stat(arg.c_str(), &st) < 0) {
    if (auto pins = find_pins(paths, arg)) {
      for (const auto& p : *pins)
        if (p.live) {
          path = p.path;
          break;
        }
    }
  }
  auto d = describe_namespace(path);
  if (!d) return fail_with(d, "info");
  auto opt = [](const auto& v) { return v ? nlohmann::ordered_json(static_cast<uint64_t>(*v)) : nlohmann::ordered_json(nullptr); };
  nlohmann::ordered_json j;
  j["path"] = d->path;
  j["type"] = std::string(to_string(d->type));
  j["oci_type"] = std::string(namespace_info(d->type).oci_name);
  j["inode"] = static_cast<uint64_t>(d->id.ino);
  j["dev"] = static_cast<uint64_t>(d->id.dev);
  j["userns_inode"] = opt(d->userns_inode);
  j["owner_uid"] = opt(d->owner_uid);
  if (d->type == NamespaceType::user) j["creator_uid"] = opt(d->creator_uid);
  if (d->type == NamespaceType::pid || d->type == NamespaceType::user) j["parent_inode"] = opt(d->parent_inode);
  if (d->type == NamespaceType::net) j["nsid"] = d->nsid ? nlohmann::ordered_json(*d->nsid) : nlohmann::ordered_json(nullptr);
  return j;
}

void register_ns_info(CLI::App& app, Globals& g, Action& action) {
  auto* cmd = ns_group(app).add_subcommand("info", "Describe a namespace file (type, inode, owner)");
  struct Args {
    std::string path;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("path", args->path, "Pin path, /proc/PID/ns/TYPE, or pin name")->required();
  cmd->add_flag("--json", args->json, "JSON output");
  cmd->callback([&g, &action, args] {
    action = [&g, args]() -> Status {
      auto j = describe(g.paths(), args->path);
      if (!j) return fail(j.error());
      if (args->json) {
        print_line(json_dump(*j, 2));
        return {};
      }
      for (const auto& [k, v] : j->items())
        print_line(fmt::format("{}: {}", k, v.is_string() ? v.get<std::string>() : v.is_null() ? "-" : json_dump(v)));
      return {};
    };
  });
}

Registrar ns_info_registrar("ns", register_ns_info);

}  // namespace
}  // namespace podns::cli
