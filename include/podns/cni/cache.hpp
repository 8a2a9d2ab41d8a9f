// The CNI result cache in libcni's layout and format, so cnitool/podman/containerd and podns read
// each other's entries: <cache_dir>/results/<network>-<container_id>-<ifname>, JSON
//   {"kind":"cniCacheV1","containerId":..,"config":<base64 conflist>,"ifName":..,"networkName":..,
//    "netns":..,"cniArgs":[[k,v],..],"capabilityArgs":{..},"result":{..}}
// Written atomically (temp file, fsync, rename; see cache.cpp for why the dir is not fsynced).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "podns/error.hpp"

namespace podns::cni {

inline constexpr std::string_view kDefaultCacheDir = "/var/lib/cni";
inline constexpr std::string_view kCacheKind = "cniCacheV1";

struct CacheEntry {
  std::string container_id;
  std::string ifname;
  std::string network_name;
  std::string netns;
  std::string config;  // the network config bytes (decoded from base64)
  std::vector<std::pair<std::string, std::string>> cni_args;
  nlohmann::json capability_args = nlohmann::json::object();
  nlohmann::json result;  // the final ADD result in its own version; null when absent
};

[[nodiscard]] Result<CacheEntry> parse_cache_entry(std::string_view text);
std::string serialize_cache_entry(const CacheEntry& entry);

std::string base64_encode(std::string_view bytes);
[[nodiscard]] Result<std::string> base64_decode(std::string_view text);

class ResultCache {
 public:
  explicit ResultCache(std::string cache_dir) : dir_(std::move(cache_dir)) {}
  const std::string& dir() const { return dir_; }
  std::string results_dir() const { return dir_ + "/results"; }
  std::string entry_path(std::string_view network, std::string_view container_id, std::string_view ifname) const;

  // Atomically replace the entry (creating <dir>/results 0700 as needed).
  [[nodiscard]] Status write(const CacheEntry& entry) const;
  // nullopt when there is no entry; Errc::corrupt when it exists but does not parse.
  [[nodiscard]] Result<std::optional<CacheEntry>> read(std::string_view network, std::string_view container_id,
                                                       std::string_view ifname) const;
  // Idempotent.
  [[nodiscard]] Status remove(std::string_view network, std::string_view container_id,
                              std::string_view ifname) const;
  // Every parseable entry of `network` (all networks when empty). Unparseable files are skipped and
  // appended to `bad` when given.
  [[nodiscard]] Result<std::vector<CacheEntry>> list(std::string_view network,
                                                     std::vector<Error>* bad = nullptr) const;

 private:
  std::string dir_;
};

}  // namespace podns::cni
