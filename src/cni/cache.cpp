// The result cache, byte-compatible with libcni's (pkg/libcni cachedInfo).
#include "podns/cni/cache.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>

#include "podns/cni/types.hpp"
#include "podns/fd.hpp"
#include "podns/make_dirs.hpp"
#include "podns/read_file.hpp"
#include "podns/write_file.hpp"
#include "podns/json_dump.hpp"
#include "podns/json_parse.hpp"

namespace podns::cni {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxEntryBytes = 4u << 20;
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

Result<std::string> read_file(const std::string& path) {
  return read_regular_file(path, kMaxEntryBytes, Errc::corrupt);
}

Result<std::string> req_string(const json& j, const char* key, bool required) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) return fail(Errc::corrupt, fmt::format("cache entry: no \"{}\"", key));
    return std::string();
  }
  if (!it->is_string()) return fail(Errc::corrupt, fmt::format("cache entry: \"{}\" is not a string", key));
  return it->get<std::string>();
}

}  // namespace

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i < in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += i + 1 < in.size() ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> base64_decode(std::string_view in) {
  // Go's encoding/json writes []byte as standard, padded base64.
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (in.size() % 4 != 0) return fail(Errc::corrupt, "base64: length is not a multiple of 4");
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    int pad = 0;
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = in[i + k];
      if (c == '=' && i + 4 == in.size() && k >= 2) {
        ++pad;
        v <<= 6;
        continue;
      }
      int d = val(c);
      if (d < 0 || pad) return fail(Errc::corrupt, "base64: invalid character");
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    out += static_cast<char>(v >> 16);
    if (pad < 2) out += static_cast<char>((v >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(v & 0xff);
  }
  return out;
}

Result<CacheEntry> parse_cache_entry(std::string_view text) {
  auto parsed = parse_json(text, {.max_bytes = kMaxEntryBytes});
  if (!parsed) return fail_with(parsed, "cache entry");
  const json& j = *parsed;
  if (!j.is_object()) return fail(Errc::corrupt, "cache entry: not a JSON object");
  auto kind = req_string(j, "kind", true);
  if (!kind) return std::unexpected(kind.error());
  if (*kind != kCacheKind) return fail(Errc::corrupt, fmt::format("cache entry: kind \"{}\" is not {}", kind->substr(0, 40), kCacheKind));
  CacheEntry e;
  auto cid = req_string(j, "containerId", true);
  auto ifn = req_string(j, "ifName", true);
  auto net = req_string(j, "networkName", true);
  auto ns = req_string(j, "netns", false);
  auto cfg = req_string(j, "config", false);
  for (auto* r : {&cid, &ifn, &net, &ns, &cfg})
    if (!*r) return std::unexpected(r->error());
  e.container_id = *cid;
  e.ifname = *ifn;
  e.network_name = *net;
  e.netns = *ns;
  auto decoded = base64_decode(*cfg);
  if (!decoded) return fail_with(decoded, "cache entry: config");
  e.config = std::move(*decoded);
  if (auto a = j.find("cniArgs"); a != j.end() && !a->is_null()) {
    if (!a->is_array()) return fail(Errc::corrupt, "cache entry: cniArgs is not a list");
    for (auto& kv : *a) {
      if (!kv.is_array() || kv.size() != 2 || !kv[0].is_string() || !kv[1].is_string())
        return fail(Errc::corrupt, "cache entry: cniArgs is not a list of [key, value] pairs");
      e.cni_args.emplace_back(kv[0].get<std::string>(), kv[1].get<std::string>());
    }
  }
  if (auto c = j.find("capabilityArgs"); c != j.end() && !c->is_null()) {
    if (!c->is_object()) return fail(Errc::corrupt, "cache entry: capabilityArgs is not an object");
    e.capability_args = *c;
  }
  if (auto r = j.find("result"); r != j.end() && !r->is_null()) {
    if (!r->is_object()) return fail(Errc::corrupt, "cache entry: result is not an object");
    e.result = *r;
  }
  return e;
}

std::string serialize_cache_entry(const CacheEntry& e) {
  json j = json::object();
  j["kind"] = kCacheKind;
  j["containerId"] = e.container_id;
  j["config"] = base64_encode(e.config);
  j["ifName"] = e.ifname;
  j["networkName"] = e.network_name;
  // libcni omits these when empty (omitempty).
  if (!e.netns.empty()) j["netns"] = e.netns;
  if (!e.cni_args.empty()) {
    json a = json::array();
    for (auto& [k, v] : e.cni_args) a.push_back({k, v});
    j["cniArgs"] = std::move(a);
  }
  if (e.capability_args.is_object() && !e.capability_args.empty()) j["capabilityArgs"] = e.capability_args;
  if (e.result.is_object()) j["result"] = e.result;
  return json_dump(j);
}

std::string ResultCache::entry_path(std::string_view network, std::string_view container_id,
                                    std::string_view ifname) const {
  return fmt::format("{}/{}-{}-{}", results_dir(), network, container_id, ifname);
}

Status ResultCache::write(const CacheEntry& entry) const {
  const std::string dir = results_dir();
  const std::string path = entry_path(entry.network_name, entry.container_id, entry.ifname);
  if (auto st = make_dirs(dir, 0700); !st) return fail_with(st, "write CNI cache");
  // The temp file's dot prefix keeps podns's list() off it. No fsync of the directory (sync_dir):
  // it costs a journal commit (~5 ms here, the whole budget of an ADD) and buys only the rename's
  // durability. After a crash the entry is then either the complete new one or what was there
  // before (absent, or the previous complete entry), never torn; a missing entry is what DEL
  // already tolerates. libcni does not fsync at all.
  if (auto st = write_file_atomically(path, serialize_cache_entry(entry), {.mode = 0600, .sync_dir = false}); !st)
    return fail_with(st, "write CNI cache");
  return {};
}

Result<std::optional<CacheEntry>> ResultCache::read(std::string_view network, std::string_view container_id,
                                                    std::string_view ifname) const {
  const std::string path = entry_path(network, container_id, ifname);
  auto text = read_file(path);
  if (!text) {
    if (text.error().is(std::errc::no_such_file_or_directory)) return std::optional<CacheEntry>();
    return std::unexpected(text.error());
  }
  auto e = parse_cache_entry(*text);
  if (!e) return fail_with(e, path);
  return std::optional<CacheEntry>(std::move(*e));
}

Status ResultCache::remove(std::string_view network, std::string_view container_id, std::string_view ifname) const {
  const std::string path = entry_path(network, container_id, ifname);
  if (::unlink(path.c_str()) < 0 && errno != ENOENT) return fail_errno("remove " + path);
  return {};
}

Result<std::vector<CacheEntry>> ResultCache::list(std::string_view network, std::vector<Error>* bad) const {
  std::vector<CacheEntry> out;
  const std::string dir = results_dir();
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT) return out;
    return fail_errno("read " + dir);
  }
  std::vector<std::string> names;
  while (dirent* de = ::readdir(d)) {
    std::string_view n = de->d_name;
    if (n.starts_with('.')) continue;
    if (!network.empty() && !(n.starts_with(network) && n.size() > network.size() && n[network.size()] == '-'))
      continue;
    names.emplace_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (auto& n : names) {
    std::string path = dir + "/" + n;
    auto text = read_file(path);
    auto e = text ? parse_cache_entry(*text) : Result<CacheEntry>(std::unexpected(text.error()));
    if (!e) {
      if (bad) bad->push_back(Error(e.error()).context(path));
      continue;
    }
    // The file name prefix can match a longer network name ("a" vs "a-b"): trust the content.
    if (!network.empty() && e->network_name != network) continue;
    out.push_back(std::move(*e));
  }
  return out;
}

}  // namespace podns::cni
