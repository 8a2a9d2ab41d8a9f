// Network configuration: parsing, version negotiation, validation, and loading from a conf dir in
// libcni's order.
#include "podns/cni/config.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "podns/cni/types.hpp"
#include "podns/fd.hpp"
#include "podns/read_file.hpp"
#include "podns/json_dump.hpp"
#include "podns/json_parse.hpp"

namespace podns::cni {

std::string conf_dir_from_environment() {
  const char* netconf = std::getenv("NETCONFPATH");
  return netconf && *netconf ? std::string(netconf) : std::string(kDefaultConfDir);
}

namespace {

using nlohmann::json;

constexpr std::size_t kMaxConfigBytes = 1u << 20;

std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 80)) {
    if (std::isprint(c)) out += static_cast<char>(c);
    else out += fmt::format("\\x{:02x}", c);
  }
  if (s.size() > 80) out += "...";
  return out;
}

Status validate_id_like(std::string_view what, std::string_view s) {
  if (s.empty()) return fail(Errc::invalid_name, fmt::format("{}: empty", what));
  if (!std::isalnum(static_cast<unsigned char>(s[0])))
    return fail(Errc::invalid_name, fmt::format("{} \"{}\": must start with a letter or digit", what, printable(s)));
  for (unsigned char c : s)
    if (!std::isalnum(c) && c != '_' && c != '.' && c != '-')
      return fail(Errc::invalid_name,
                  fmt::format("{} \"{}\": may contain only letters, digits, '_', '.' and '-'", what, printable(s)));
  // <network>-<container>-<ifname> must fit in one file name in the result cache.
  if (s.size() > 200) return fail(Errc::invalid_name, fmt::format("{} \"{}\": longer than 200 bytes", what, printable(s)));
  return {};
}

Result<bool> get_bool(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return false;
  if (it->is_boolean()) return it->get<bool>();
  // libcni accepts "true"/"false" strings here too (configs written by hand do this).
  if (it->is_string()) {
    std::string s = it->get<std::string>();
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    if (s == "true") return true;
    if (s == "false") return false;
  }
  return fail(Errc::invalid_argument, fmt::format("\"{}\": not a boolean", key));
}

Result<PluginConfig> parse_plugin(const json& o, std::string_view where) {
  if (!o.is_object()) return fail(Errc::invalid_argument, fmt::format("{}: not an object", where));
  PluginConfig p;
  auto type = o.find("type");
  if (type == o.end() || !type->is_string())
    return fail(Errc::invalid_argument, fmt::format("{}: missing \"type\"", where));
  p.type = type->get<std::string>();
  if (auto st = validate_plugin_type(p.type); !st) return fail_with(st, where);
  if (auto caps = o.find("capabilities"); caps != o.end() && !caps->is_null()) {
    if (!caps->is_object())
      return fail(Errc::invalid_argument, fmt::format("{} ({}): \"capabilities\" is not an object", where, p.type));
    for (auto& [k, v] : caps->items()) {
      if (!v.is_boolean())
        return fail(Errc::invalid_argument,
                    fmt::format("{} ({}): capability \"{}\" is not a boolean", where, p.type, printable(k)));
      p.capabilities[k] = v.get<bool>();
    }
  }
  p.raw = o;
  return p;
}

// cniVersion and cniVersions: the highest version both declared and known to podns wins (as in
// libcni); versions newer than podns's are ignored, not errors, so a config can target newer
// runtimes too.
Status negotiate(const json& doc, NetworkConfigList& list) {
  std::vector<std::string> declared;
  auto v = doc.find("cniVersion");
  if (v != doc.end() && !v->is_null()) {
    if (!v->is_string()) return fail(Errc::invalid_argument, "\"cniVersion\": not a string");
    declared.push_back(v->get<std::string>());
  }
  if (auto vs = doc.find("cniVersions"); vs != doc.end() && !vs->is_null()) {
    if (!vs->is_array()) return fail(Errc::invalid_argument, "\"cniVersions\": not a list");
    for (auto& e : *vs) {
      if (!e.is_string()) return fail(Errc::invalid_argument, "\"cniVersions\": not a list of strings");
      declared.push_back(e.get<std::string>());
    }
  }
  if (declared.empty()) return fail(Errc::invalid_argument, "no \"cniVersion\"");
  std::vector<std::string> ok;
  for (auto& d : declared) {
    auto cmp = compare_versions(d, kSpecVersion);
    if (!cmp) return fail_with(cmp, "\"cniVersion\"");
    if (*cmp > 0) continue;  // newer than podns: skip
    if (!version_supported(d))
      continue;
    if (std::find(ok.begin(), ok.end(), d) == ok.end()) ok.push_back(d);
  }
  if (ok.empty())
    return fail(Errc::unsupported, fmt::format("cniVersion {} (podns supports 0.3.0 to {})",
                                               printable(fmt::format("{}", fmt::join(declared, ", "))), kSpecVersion));
  std::sort(ok.begin(), ok.end(), [](auto& a, auto& b) { return *compare_versions(a, b) > 0; });
  list.cni_version = ok.front();
  list.cni_versions = std::move(ok);
  return {};
}

Result<std::string> read_small_file(const std::string& path) {
  return read_regular_file(path, kMaxConfigBytes);
}

// Regular files in `dir` with one of `exts`, sorted lexically (libcni's ConfFiles + sort).
Result<std::vector<std::string>> conf_files(const std::string& dir, std::initializer_list<std::string_view> exts) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT) return out;
    return fail_errno("read conf dir " + dir);
  }
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n.starts_with('.')) continue;
    bool match = false;
    for (auto ext : exts) match = match || (n.size() > ext.size() && n.ends_with(ext));
    if (!match) continue;
    std::string path = dir + "/" + std::string(n);
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) out.push_back(path);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

void rebuild_bytes(NetworkConfigList& list, const json& doc) {
  list.bytes = json_dump(doc);
}

}  // namespace

Status validate_network_name(std::string_view name) { return validate_id_like("network name", name); }
Status validate_container_id(std::string_view id) { return validate_id_like("container id", id); }

Status validate_plugin_type(std::string_view type) {
  if (type.empty()) return fail(Errc::invalid_name, "plugin type: empty");
  if (type == "." || type == "..")
    return fail(Errc::invalid_name, fmt::format("plugin type \"{}\": not a file name", type));
  for (unsigned char c : type)
    if (c == '/' || c == '\\' || c == 0 || !std::isprint(c))
      return fail(Errc::invalid_name,
                  fmt::format("plugin type \"{}\": must be a binary name in CNI_PATH, not a path", printable(type)));
  return {};
}

Result<NetworkConfigList> parse_network_list(std::string_view text) {
  auto parsed = parse_json(text, {.max_bytes = kMaxConfigBytes});
  if (!parsed) return fail_with(parsed, "parse network config list");
  const json& doc = *parsed;
  if (!doc.is_object()) return fail(Errc::invalid_argument, "network config list: not a JSON object");
  NetworkConfigList list;
  auto name = doc.find("name");
  if (name == doc.end() || !name->is_string()) return fail(Errc::invalid_argument, "network config list: no \"name\"");
  list.name = name->get<std::string>();
  if (auto st = validate_network_name(list.name); !st) return fail_with(st, "network config list");
  auto where = fmt::format("network {}", list.name);
  if (auto st = negotiate(doc, list); !st) return fail_with(st, where);
  auto dc = get_bool(doc, "disableCheck");
  auto dg = get_bool(doc, "disableGC");
  auto lo = get_bool(doc, "loadOnlyInlinedPlugins");
  if (!dc) return fail_with(dc, where);
  if (!dg) return fail_with(dg, where);
  if (!lo) return fail_with(lo, where);
  list.disable_check = *dc;
  list.disable_gc = *dg;
  list.load_only_inlined_plugins = *lo;
  auto plugins = doc.find("plugins");
  if (plugins != doc.end() && !plugins->is_null()) {
    if (!plugins->is_array()) return fail(Errc::invalid_argument, where + ": \"plugins\" is not a list");
    for (std::size_t i = 0; i < plugins->size(); ++i) {
      auto p = parse_plugin((*plugins)[i], fmt::format("plugins[{}]", i));
      if (!p) return fail_with(p, where);
      list.plugins.push_back(std::move(*p));
    }
  }
  // A list may have no inline plugins only when it loads them from <dir>/<name>/ (load_network
  // checks again after that).
  if (list.plugins.empty() && list.load_only_inlined_plugins)
    return fail(Errc::invalid_argument, where + ": no plugins");
  list.bytes = std::string(text);
  return list;
}

Result<NetworkConfigList> parse_network_config(std::string_view text) {
  auto parsed = parse_json(text, {.max_bytes = kMaxConfigBytes});
  if (!parsed) return fail_with(parsed, "parse network config");
  const json& doc = *parsed;
  if (!doc.is_object()) return fail(Errc::invalid_argument, "network config: not a JSON object");
  if (doc.contains("plugins"))
    return fail(Errc::invalid_argument, "network config: has \"plugins\" (a .conflist in a .conf file?)");
  auto name = doc.find("name");
  if (name == doc.end() || !name->is_string()) return fail(Errc::invalid_argument, "network config: no \"name\"");
  NetworkConfigList list;
  list.name = name->get<std::string>();
  if (auto st = validate_network_name(list.name); !st) return fail_with(st, "network config");
  auto where = fmt::format("network {}", list.name);
  if (auto st = negotiate(doc, list); !st) return fail_with(st, where);
  auto p = parse_plugin(doc, "plugin");
  if (!p) return fail_with(p, where);
  list.plugins.push_back(std::move(*p));
  // What libcni's ConfListFromConf builds: the same conf as the single plugin of a list.
  json wrapped = {{"cniVersion", list.cni_version}, {"name", list.name}, {"plugins", json::array({doc})}};
  rebuild_bytes(list, wrapped);
  return list;
}

Result<std::vector<NetworkConfigList>> load_networks(const std::string& conf_dir) {
  std::vector<NetworkConfigList> out;
  auto seen = [&](const std::string& n) {
    return std::any_of(out.begin(), out.end(), [&](auto& l) { return l.name == n; });
  };
  auto lists = conf_files(conf_dir, {".conflist"});
  if (!lists) return std::unexpected(lists.error());
  for (auto& f : *lists) {
    auto text = read_small_file(f);
    if (!text) continue;
    auto l = parse_network_list(*text);
    if (!l || seen(l->name)) continue;
    l->source = f;
    out.push_back(std::move(*l));
  }
  auto singles = conf_files(conf_dir, {".conf", ".json"});
  if (!singles) return std::unexpected(singles.error());
  for (auto& f : *singles) {
    auto text = read_small_file(f);
    if (!text) continue;
    auto l = parse_network_config(*text);
    if (!l || seen(l->name)) continue;
    l->source = f;
    out.push_back(std::move(*l));
  }
  return out;
}

Result<NetworkConfigList> load_network(const std::string& conf_dir, const std::string& name) {
  if (auto st = validate_network_name(name); !st) return std::unexpected(st.error());
  std::vector<std::string> broken;
  std::optional<NetworkConfigList> found;
  auto try_files = [&](std::initializer_list<std::string_view> exts, bool is_list) -> Status {
    auto files = conf_files(conf_dir, exts);
    if (!files) return std::unexpected(files.error());
    for (auto& f : *files) {
      auto text = read_small_file(f);
      auto l = text ? (is_list ? parse_network_list(*text) : parse_network_config(*text))
                    : Result<NetworkConfigList>(std::unexpected(text.error()));
      if (!l) {
        broken.push_back(fmt::format("{}: {}", f, l.error().message()));
        continue;
      }
      if (l->name != name) continue;
      l->source = f;
      found = std::move(*l);
      return {};
    }
    return {};
  };
  if (auto st = try_files({".conflist"}, true); !st) return std::unexpected(st.error());
  if (!found)
    if (auto st = try_files({".conf", ".json"}, false); !st) return std::unexpected(st.error());
  if (!found) {
    std::string msg = fmt::format("network \"{}\" in {}", name, conf_dir);
    if (!broken.empty())
      msg += fmt::format(" ({} unreadable config file(s) skipped: {})", broken.size(), fmt::join(broken, "; "));
    return fail(Errc::not_found, msg);
  }
  NetworkConfigList& list = *found;
  if (!list.load_only_inlined_plugins) {
    // Extra plugins from <dir>/<name>/*.conf, appended after the inline ones (libcni 1.2).
    auto extra = conf_files(conf_dir + "/" + name, {".conf"});
    if (!extra) return fail_with(extra, "network " + name);
    if (!extra->empty()) {
      auto doc = parse_json(list.bytes, {.max_bytes = kMaxConfigBytes});
      if (!doc) return fail_with(doc, "network " + name);
      if (!doc->contains("plugins") || !(*doc)["plugins"].is_array()) (*doc)["plugins"] = json::array();
      for (auto& f : *extra) {
        auto text = read_small_file(f);
        if (!text) return fail_with(text, "network " + name);
        auto pj = parse_json(*text, {.max_bytes = kMaxConfigBytes});
        if (!pj) return fail_with(pj, fmt::format("network {}: plugin file {}", name, f));
        auto p = parse_plugin(*pj, f);
        if (!p) return fail_with(p, "network " + name);
        list.plugins.push_back(std::move(*p));
        (*doc)["plugins"].push_back(std::move(*pj));
      }
      rebuild_bytes(list, *doc);
    }
  }
  if (list.plugins.empty()) return fail(Errc::invalid_argument, fmt::format("network {} ({}): no plugins", name, list.source));
  return list;
}

}  // namespace podns::cni
