// Fuzz the OCI config.json reader (linux.namespaces, uidMappings, gidMappings) and the merge of a
// pinned set into a config (`podns ns oci-spec --merge`, which takes the runtime's config.json).
// Invariants: an accepted spec has each type once, absolute paths, valid maps that come with a user
// namespace; written back as config.json it reads back equal; merging a set into an accepted config
// succeeds and reads back with the set's paths, the config's other namespaces and the right maps.
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_check.hpp"
#include "podns/namespace_type.hpp"
#include "podns/oci.hpp"

namespace {

using nlohmann::json;
using podns::NamespaceType;
using podns::oci::LinuxNamespaces;

const podns::NamespaceRequest* find(const LinuxNamespaces& s, NamespaceType t) {
  for (const auto& n : s.namespaces)
    if (n.type == t) return &n;
  return nullptr;
}

json emit(const LinuxNamespaces& s) {
  json nss = json::array();
  for (const auto& n : s.namespaces) {
    json e = {{"type", std::string(podns::namespace_info(n.type).oci_name)}};
    if (!n.path.empty()) e["path"] = n.path;
    nss.push_back(std::move(e));
  }
  json linux = {{"namespaces", std::move(nss)}};
  if (!s.idmaps.uid.empty()) linux["uidMappings"] = podns::oci::idmap_json(s.idmaps.uid);
  if (!s.idmaps.gid.empty()) linux["gidMappings"] = podns::oci::idmap_json(s.idmaps.gid);
  return {{"linux", std::move(linux)}};
}

void check_accepted(const LinuxNamespaces& s) {
  unsigned seen = 0;
  for (const auto& n : s.namespaces) {
    unsigned bit = 1u << static_cast<unsigned>(n.type);
    FUZZ_CHECK(!(seen & bit));
    seen |= bit;
    FUZZ_CHECK(n.path.empty() || n.path.front() == '/');
  }
  FUZZ_CHECK(podns::validate_idmappings(s.idmaps));
  if (!s.idmaps.empty()) FUZZ_CHECK(find(s, NamespaceType::user) != nullptr);
}

// A set of pins chosen by the input's bytes: which types, and whether it brings id maps.
struct SetChoice {
  podns::PinnedSet set;
  podns::IdMappings maps;
};

SetChoice choose_set(std::string_view text) {
  uint32_t h = 2166136261u;  // FNV-1a
  for (unsigned char c : text) h = (h ^ c) * 16777619u;
  SetChoice out;
  out.set.name = "fz";
  for (const auto& info : podns::all_namespaces()) {
    if (!(h & (1u << static_cast<unsigned>(info.type)))) continue;
    out.set.pins.push_back({info.type, "fz", "/run/podns/ns/" + std::string(info.name) + "/fz", {}});
  }
  if (h & 0x100) {
    out.maps.uid = {{0, 100000, 65536}};
    out.maps.gid = {{0, 200000, 1000}, {1000, 1000, 1}};
  }
  return out;
}

void check_merge(const json& config, const LinuxNamespaces& before, std::string_view text) {
  auto [set, maps] = choose_set(text);
  auto merged = podns::oci::merge_into_config(config, set, maps);
  FUZZ_CHECK(merged);
  auto after = podns::oci::parse_config(*merged);
  FUZZ_CHECK(after);
  for (const auto& info : podns::all_namespaces()) {
    const podns::PinnedNamespace* pin = set.find(info.type);
    const podns::NamespaceRequest* was = find(before, info.type);
    const podns::NamespaceRequest* now = find(*after, info.type);
    if (pin) FUZZ_CHECK(now && now->path == pin->path);
    else if (was) FUZZ_CHECK(now && now->path == was->path);
    else FUZZ_CHECK(!now);
  }
  bool ours = set.find(NamespaceType::user) && !maps.empty();
  FUZZ_CHECK(after->idmaps.uid == (ours ? maps.uid : before.idmaps.uid));
  FUZZ_CHECK(after->idmaps.gid == (ours ? maps.gid : before.idmaps.gid));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = podns::fuzz::as_text(data, size);
  auto spec = podns::oci::parse_config_text(text);
  if (!spec) return 0;
  check_accepted(*spec);

  auto again = podns::oci::parse_config(emit(*spec));
  FUZZ_CHECK(again && again->namespaces == spec->namespaces && again->idmaps == spec->idmaps);

  // Keeping every type keeps everything; keeping none keeps nothing, the maps included.
  std::vector<NamespaceType> all;
  for (const auto& info : podns::all_namespaces()) all.push_back(info.type);
  auto kept = podns::oci::filter(*spec, all);
  FUZZ_CHECK(kept.namespaces == spec->namespaces);
  auto none = podns::oci::filter(*spec, {});
  FUZZ_CHECK(none.namespaces.empty() && none.idmaps.empty());

  json config = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(!config.is_discarded());
  check_merge(config, *spec, text);
  return 0;
}
