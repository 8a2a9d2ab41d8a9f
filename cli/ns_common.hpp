// Shared bits of the `podns ns` verbs: the group, --type parsing, JSON of pins.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "podns/namespace_type.hpp"
#include "podns/pin.hpp"

namespace podns::cli {

inline CLI::App& ns_group(CLI::App& app) {
  return group(app, "ns", "Namespaces: create, pin, attach, list, enter, remove (like `ip netns`)");
}

// --type values (podns or OCI names) -> types; `fallback` when none given.
inline Result<std::vector<NamespaceType>> parse_types(const std::vector<std::string>& names,
                                                      std::vector<NamespaceType> fallback) {
  if (names.empty()) return fallback;
  std::vector<NamespaceType> out;
  for (const auto& n : names) {
    auto t = parse_namespace_type(n);
    if (!t) return fail_with(t, "--type");
    out.push_back(*t);
  }
  return out;
}

// One --type value, or none ("" when the option was not given).
inline Result<std::optional<NamespaceType>> parse_optional_type(const std::string& name) {
  if (name.empty()) return std::optional<NamespaceType>();
  auto t = parse_namespace_type(name);
  if (!t) return fail_with(t, "--type");
  return std::optional<NamespaceType>(*t);
}

inline nlohmann::ordered_json pin_json(const PinEntry& p) {
  nlohmann::ordered_json j;
  j["name"] = p.name;
  j["type"] = std::string(to_string(p.type));
  j["path"] = p.path;
  j["live"] = p.live;
  j["inode"] = p.live ? nlohmann::ordered_json(static_cast<uint64_t>(p.id.ino)) : nlohmann::ordered_json(nullptr);
  if (p.type == NamespaceType::net) j["nsid"] = p.nsid ? nlohmann::ordered_json(*p.nsid) : nlohmann::ordered_json(nullptr);
  return j;
}

}  // namespace podns::cli
