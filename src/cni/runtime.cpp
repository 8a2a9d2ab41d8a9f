// The CNI verbs over a network configuration list (libcni's AddNetworkList & co), with per-plugin
// version negotiation, rollback of failed ADDs, best-effort DEL and locking.
#include "podns/cni/runtime.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <mutex>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "podns/file_lock.hpp"
#include "sha512.hpp"
#include "podns/names.hpp"

namespace podns::cni {
Result<std::vector<std::pair<std::string, std::string>>> parse_cni_args(std::string_view s) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!s.empty()) {
    auto semi = s.find(';');
    std::string_view pair = s.substr(0, semi);
    if (!pair.empty()) {
      auto eq = pair.find('=');
      if (eq == std::string_view::npos || eq == 0)
        return fail(Errc::invalid_argument, fmt::format("CNI_ARGS: \"{}\" is not KEY=VALUE", pair));
      out.emplace_back(std::string(pair.substr(0, eq)), std::string(pair.substr(eq + 1)));
    }
    if (semi == std::string_view::npos) break;
    s.remove_prefix(semi + 1);
  }
  return out;
}

namespace {

using nlohmann::json;

bool at_least(std::string_view v, std::string_view min) {
  auto c = compare_versions(v, min);
  return c && *c >= 0;
}

// libcni's buildOneConfig + injectRuntimeConfig: the plugin object with the list's name and the
// negotiated cniVersion, prevResult, and runtimeConfig holding exactly the capability args the plugin
// declared. The "capabilities" key itself is the runtime's business and is not passed on.
json plugin_config(const NetworkConfigList& net, const PluginConfig& plugin, std::string_view version,
                   const json* prev_result, const json& capability_args) {
  json cfg = plugin.raw;
  cfg["name"] = net.name;
  cfg["cniVersion"] = std::string(version);
  if (prev_result) cfg["prevResult"] = *prev_result;
  else cfg.erase("prevResult");
  json rc = json::object();
  if (capability_args.is_object())
    for (auto& [cap, enabled] : plugin.capabilities)
      if (enabled)
        if (auto it = capability_args.find(cap); it != capability_args.end()) rc[cap] = *it;
  if (!rc.empty()) cfg["runtimeConfig"] = std::move(rc);
  cfg.erase("capabilities");
  return cfg;
}

Error join_errors(std::vector<Error> errs, std::string_view doing) {
  Error first = errs.front();
  if (errs.size() > 1) {
    std::vector<std::string> rest;
    for (std::size_t i = 1; i < errs.size(); ++i) rest.push_back(errs[i].message());
    first = Error(first.code(), fmt::format("{}; and {} more: {}", first.what(), errs.size() - 1, fmt::join(rest, "; ")));
  }
  return std::move(first).context(doing);
}

}  // namespace

struct Runtime::Impl {
  struct Probe {
    dev_t dev;
    ino_t ino;
    struct timespec mtime;
    off_t size;
    PluginVersionInfo info;
  };
  std::mutex mu;
  std::map<std::string, Probe> probes;  // by plugin path; revalidated against stat()
};

std::string cnitool_container_id(std::string_view netns_path) {
  auto digest = detail::sha512(netns_path);
  std::string id = "cnitool-";
  for (int i = 0; i < 10; ++i) id += fmt::format("{:02x}", digest[i]);
  return id;
}

Runtime::Runtime(RuntimeOptions options) : options_(std::move(options)), impl_(std::make_shared<Impl>()) {
  if (!options_.exec) options_.exec = std::make_shared<ProcessExec>();
  if (options_.deadline.count() <= 0) options_.deadline = kDefaultDeadline;
}

namespace {

struct Resolved {
  const PluginConfig* plugin;
  std::string path;
  std::string version;  // negotiated with this plugin
};

}  // namespace

// VERSION of one plugin, cached while the binary stays the same file.
static Result<PluginVersionInfo> probe(Runtime::Impl& impl, const RuntimeOptions& opt, const std::string& type,
                                       const std::string& path) {
  struct stat st {};
  bool have_stat = ::stat(path.c_str(), &st) == 0;
  {
    std::lock_guard g(impl.mu);
    auto it = impl.probes.find(path);
    if (have_stat && it != impl.probes.end() && it->second.dev == st.st_dev && it->second.ino == st.st_ino &&
        it->second.size == st.st_size && it->second.mtime.tv_sec == st.st_mtim.tv_sec &&
        it->second.mtime.tv_nsec == st.st_mtim.tv_nsec)
      return it->second.info;
  }
  auto info = probe_plugin_version(*opt.exec, type, path, opt.plugin_dirs, opt.deadline);
  if (!info) return info;
  if (have_stat) {
    std::lock_guard g(impl.mu);
    impl.probes[path] = {st.st_dev, st.st_ino, st.st_mtim, st.st_size, *info};
  }
  return info;
}

// Resolve every plugin of the list to a binary and a CNI version before anything runs, so a
// missing plugin or a version mismatch fails the operation with nothing attached.
//
// Versions: a plugin normally gets the list's cniVersion. When the list declares several versions
// (cniVersions), or is 1.1.0 (which changed no ADD/DEL/CHECK semantics against 1.0.0, only added
// verbs and optional fields), the plugin's VERSION answer picks the newest version both sides
// speak; results are converted between versions on the way through the chain.
static Result<std::vector<Resolved>> resolve(Runtime::Impl& impl, const RuntimeOptions& opt,
                                             const NetworkConfigList& net, bool keep_going,
                                             std::vector<Error>* errors) {
  std::vector<std::string> candidates = net.cni_versions;
  if (candidates.empty()) candidates.push_back(net.cni_version);
  if (net.cni_version == "1.1.0" && std::find(candidates.begin(), candidates.end(), "1.0.0") == candidates.end())
    candidates.push_back("1.0.0");
  const bool negotiate = candidates.size() > 1;
  std::vector<Resolved> out;
  for (auto& p : net.plugins) {
    auto path = find_plugin(p.type, opt.plugin_dirs);
    Result<std::string> version = net.cni_version;
    if (path && negotiate) {
      auto info = probe(impl, opt, p.type, *path);
      if (!info) {
        version = std::unexpected(info.error());
      } else {
        auto it = std::find_if(candidates.begin(), candidates.end(), [&](auto& v) { return info->supports(v); });
        if (it == candidates.end())
          version = fail(Errc::unsupported, fmt::format("plugin {} speaks CNI {}, network {} needs {}", p.type,
                                                        fmt::join(info->supported, ", "), net.name,
                                                        fmt::join(candidates, " or ")));
        else
          version = *it;
      }
    }
    Error err;
    bool bad = false;
    if (!path) err = path.error(), bad = true;
    else if (!version) err = version.error(), bad = true;
    if (bad) {
      if (!keep_going) return std::unexpected(err);
      if (errors) errors->push_back(err);
      out.push_back({&p, {}, {}});  // skipped by callers
      continue;
    }
    out.push_back({&p, *path, *version});
  }
  return out;
}

static Status check_attachment(const NetworkConfigList& net, const RuntimeConf& rt, bool need_netns) {
  if (auto st = validate_network_name(net.name); !st) return st;
  if (auto st = validate_container_id(rt.container_id); !st) return st;
  if (auto st = validate_ifname(rt.ifname); !st) return st;
  if (need_netns && rt.netns.empty()) return fail(Errc::invalid_argument, "no network namespace path");
  // Plugins run with another cwd and setns by path: a relative path would mean something else there.
  if (!rt.netns.empty() && rt.netns[0] != '/')
    return fail(Errc::invalid_argument, fmt::format("network namespace path \"{}\" is not absolute", rt.netns));
  if (net.plugins.empty()) return fail(Errc::invalid_argument, fmt::format("network {}: no plugins", net.name));
  if (!rt.capability_args.is_null() && !rt.capability_args.is_object())
    return fail(Errc::invalid_argument, "capability args: not a JSON object");
  return {};
}

static std::string net_lock_path(const RuntimeOptions& o, const std::string& net) {
  return fmt::format("{}/podns-locks/{}.lock", o.cache_dir, net);
}
static std::string attachment_lock_path(const RuntimeOptions& o, const std::string& net, const RuntimeConf& rt) {
  return fmt::format("{}/podns-locks/{}-{}-{}.lock", o.cache_dir, net, rt.container_id, rt.ifname);
}

namespace {

struct AttachmentLocks {
  FileLock network, attachment;
};

Result<AttachmentLocks> lock_attachment(const RuntimeOptions& o, const NetworkConfigList& net, const RuntimeConf& rt) {
  AttachmentLocks l;
  auto n = FileLock::acquire(net_lock_path(o, net.name), FileLock::Mode::shared, o.lock_timeout);
  if (!n) return std::unexpected(n.error());
  auto a = FileLock::acquire(attachment_lock_path(o, net.name, rt), FileLock::Mode::exclusive, o.lock_timeout);
  if (!a) return std::unexpected(a.error());
  l.network = std::move(*n);
  l.attachment = std::move(*a);
  return l;
}

PluginCall make_call(std::string command, const RuntimeConf& rt, const RuntimeOptions& o) {
  PluginCall c;
  c.command = std::move(command);
  c.container_id = rt.container_id;
  c.netns = rt.netns;
  c.ifname = rt.ifname;
  c.args = rt.args;
  c.plugin_dirs = o.plugin_dirs;
  return c;
}

}  // namespace

// DEL of `plugins` in reverse; prevResult from `prev` when the plugin's version has it (>= 0.4.0).
static std::vector<Error> del_plugins(const RuntimeOptions& o, const NetworkConfigList& net,
                                      const std::vector<Resolved>& plugins, const RuntimeConf& rt,
                                      const std::optional<CniResult>& prev) {
  std::vector<Error> errs;
  PluginCall call = make_call("DEL", rt, o);
  for (auto it = plugins.rbegin(); it != plugins.rend(); ++it) {
    if (it->path.empty()) continue;  // unresolvable: already reported
    std::optional<json> prev_json;
    if (prev && at_least(it->version, "0.4.0")) {
      auto j = prev->to_json(it->version);
      if (j) prev_json = std::move(*j);
    }
    json cfg = plugin_config(net, *it->plugin, it->version, prev_json ? &*prev_json : nullptr, rt.capability_args);
    auto r = invoke_plugin(*o.exec, it->plugin->type, it->path, call, cfg, o.deadline);
    if (!r) errs.push_back(r.error());
  }
  return errs;
}

// The rollback of a failed ADD: DEL `ran` (newest first) with `prev` as prevResult, each failure
// a warning and, for a caller that asked, a record that the attachment still needs its DEL.
static void roll_back(const RuntimeOptions& o, const NetworkConfigList& net, const std::vector<Resolved>& ran,
                      const RuntimeConf& rt, const std::optional<CniResult>& prev, const std::string& doing,
                      AddRollback* rollback) {
  auto errs = del_plugins(o, net, ran, rt, prev);
  for (auto& e : errs)
    if (o.on_warning) o.on_warning(Error(e).context(doing + ": rollback"));
  if (!rollback || errs.empty()) return;
  rollback->failed = true;
  rollback->errors = std::move(errs);
  rollback->prev_result = prev;
}

Result<CniResult> Runtime::add(const NetworkConfigList& net, const RuntimeConf& rt, AddRollback* rollback) {
  if (rollback) *rollback = {};
  const std::string doing = fmt::format("cni add {} to network {}", rt.container_id, net.name);
  if (auto st = check_attachment(net, rt, true); !st) return fail_with(st, doing);
  auto locks = lock_attachment(options_, net, rt);
  if (!locks) return fail_with(locks, doing);
  auto plugins = resolve(*impl_, options_, net, false, nullptr);
  if (!plugins) return fail_with(plugins, doing);

  PluginCall call = make_call("ADD", rt, options_);
  std::optional<CniResult> prev;
  for (std::size_t i = 0; i < plugins->size(); ++i) {
    const Resolved& p = (*plugins)[i];
    std::optional<json> prev_json;
    if (prev) {
      auto j = prev->to_json(p.version);
      if (!j) return fail_with(j, doing);
      prev_json = std::move(*j);
    }
    json cfg = plugin_config(net, *p.plugin, p.version, prev_json ? &*prev_json : nullptr, rt.capability_args);
    auto out = invoke_plugin(*options_.exec, p.plugin->type, p.path, call, cfg, options_.deadline);
    Result<CniResult> res = out ? parse_result_text(*out, p.version) : Result<CniResult>(std::unexpected(out.error()));
    if (out && !res) res = fail_with(res, fmt::format("plugin {} (ADD): bad result", p.plugin->type));
    if (!res) {
      // Undo what ran, this plugin included (it may have done half its work), newest first.
      std::vector<Resolved> ran(plugins->begin(), plugins->begin() + static_cast<long>(i) + 1);
      roll_back(options_, net, ran, rt, prev, doing, rollback);
      return fail_with(res, doing);
    }
    prev = std::move(*res);
  }
  CniResult final = std::move(*prev);
  auto final_json = final.to_json(net.cni_version);
  if (!final_json) return fail_with(final_json, doing);
  final.cni_version = net.cni_version;

  CacheEntry entry;
  entry.container_id = rt.container_id;
  entry.ifname = rt.ifname;
  entry.network_name = net.name;
  entry.netns = rt.netns;
  entry.config = net.bytes;
  entry.cni_args = rt.args;
  if (rt.capability_args.is_object()) entry.capability_args = rt.capability_args;
  entry.result = *final_json;
  if (auto st = ResultCache(options_.cache_dir).write(entry); !st) {
    // Without the cached result a later DEL could not hand plugins what they allocated: undo.
    roll_back(options_, net, *plugins, rt, final, doing, rollback);
    return fail_with(st, doing);
  }
  return final;
}

static Status del_locked(Runtime::Impl& impl, const RuntimeOptions& o, const NetworkConfigList& net,
                         const RuntimeConf& rt_in, const DelOptions& opts = {}) {
  RuntimeConf rt = rt_in;
  if (opts.without_netns) rt.netns.clear();
  ResultCache cache(o.cache_dir);
  std::optional<CniResult> prev;
  auto cached = cache.read(net.name, rt.container_id, rt.ifname);
  if (!cached) {
    // A corrupt entry must never block DEL: report it and go on without prevResult.
    if (o.on_warning) o.on_warning(Error(cached.error()).context("ignoring cached result"));
  } else if (*cached) {
    if (rt.netns.empty() && !opts.without_netns) rt.netns = (*cached)->netns;
    if (!(*cached)->result.is_null() && at_least(net.cni_version, "0.4.0")) {
      auto r = parse_result((*cached)->result);
      if (r) prev = std::move(*r);
      else if (o.on_warning) o.on_warning(Error(r.error()).context("ignoring cached result " +
                                                                  cache.entry_path(net.name, rt.container_id, rt.ifname)));
    }
  }
  if (!prev && opts.fallback_result && at_least(net.cni_version, "0.4.0")) prev = opts.fallback_result;
  std::vector<Error> errs;
  auto plugins = resolve(impl, o, net, /*keep_going=*/true, &errs);
  if (!plugins) return std::unexpected(plugins.error());
  auto del_errs = del_plugins(o, net, *plugins, rt, prev);
  errs.insert(errs.end(), del_errs.begin(), del_errs.end());
  if (!errs.empty()) return std::unexpected(join_errors(std::move(errs), ""));
  return cache.remove(net.name, rt.container_id, rt.ifname);
}

Status Runtime::del(const NetworkConfigList& net, const RuntimeConf& rt, const DelOptions& options) {
  const std::string doing = fmt::format("cni del {} from network {}", rt.container_id, net.name);
  if (auto st = check_attachment(net, rt, false); !st) return fail_with(st, doing);
  auto locks = lock_attachment(options_, net, rt);
  if (!locks) return fail_with(locks, doing);
  auto st = del_locked(*impl_, options_, net, rt, options);
  if (!st) return fail_with(st, doing);
  locks->attachment.unlink_and_release();
  return {};
}

Status Runtime::check(const NetworkConfigList& net, const RuntimeConf& rt) {
  const std::string doing = fmt::format("cni check {} on network {}", rt.container_id, net.name);
  if (auto st = check_attachment(net, rt, true); !st) return fail_with(st, doing);
  if (!at_least(net.cni_version, "0.4.0"))
    return fail(Errc::unsupported, fmt::format("{}: CHECK needs cniVersion 0.4.0 or later, the network has {}", doing,
                                               net.cni_version));
  if (net.disable_check) return {};
  auto locks = lock_attachment(options_, net, rt);
  if (!locks) return fail_with(locks, doing);
  auto cached = ResultCache(options_.cache_dir).read(net.name, rt.container_id, rt.ifname);
  if (!cached) return fail_with(cached, doing);
  if (!*cached || (*cached)->result.is_null())
    return fail(Errc::not_found, fmt::format("{}: no cached result (was it added?)", doing));
  auto prev = parse_result((*cached)->result);
  if (!prev) return fail_with(prev, doing + ": cached result");
  auto plugins = resolve(*impl_, options_, net, false, nullptr);
  if (!plugins) return fail_with(plugins, doing);
  PluginCall call = make_call("CHECK", rt, options_);
  for (auto& p : *plugins) {
    auto pj = prev->to_json(p.version);
    if (!pj) return fail_with(pj, doing);
    json cfg = plugin_config(net, *p.plugin, p.version, &*pj, rt.capability_args);
    auto r = invoke_plugin(*options_.exec, p.plugin->type, p.path, call, cfg, options_.deadline);
    if (!r) return fail_with(r, doing);
  }
  return {};
}

Status Runtime::status(const NetworkConfigList& net) {
  const std::string doing = fmt::format("cni status of network {}", net.name);
  // STATUS arrived with 1.1.0: older lists and plugins have no such verb, and are not asked.
  if (!at_least(net.cni_version, "1.1.0")) return {};
  PluginCall call;
  call.command = "STATUS";
  call.plugin_dirs = options_.plugin_dirs;
  for (auto& p : net.plugins) {
    auto path = find_plugin(p.type, options_.plugin_dirs);
    if (!path) return fail_with(path, doing);
    auto info = probe(*impl_, options_, p.type, *path);
    if (!info) return fail_with(info, doing);
    if (!info->supports("1.1.0")) continue;
    json cfg = plugin_config(net, p, "1.1.0", nullptr, json::object());
    auto r = invoke_plugin(*options_.exec, p.type, *path, call, cfg, options_.deadline);
    if (!r) return fail_with(r, doing);
  }
  return {};
}

Status Runtime::gc(const NetworkConfigList& net, const std::vector<Attachment>& valid) {
  const std::string doing = fmt::format("cni gc of network {}", net.name);
  if (auto st = validate_network_name(net.name); !st) return fail_with(st, doing);
  if (net.disable_gc) return {};
  // GC excludes every ADD/DEL/CHECK on this network while it decides what is stale.
  auto lock = FileLock::acquire(net_lock_path(options_, net.name), FileLock::Mode::exclusive, options_.lock_timeout);
  if (!lock) return fail_with(lock, doing);
  std::vector<Error> errs;
  std::vector<Error> bad;
  auto cached = ResultCache(options_.cache_dir).list(net.name, &bad);
  if (!cached) return fail_with(cached, doing);
  for (auto& b : bad)
    if (options_.on_warning) options_.on_warning(Error(b).context(doing + ": skipping unreadable cache entry"));
  for (auto& e : *cached) {
    if (std::find(valid.begin(), valid.end(), Attachment{e.container_id, e.ifname}) != valid.end()) continue;
    RuntimeConf rt;
    rt.container_id = e.container_id;
    rt.ifname = e.ifname;
    rt.netns = e.netns;
    rt.args = e.cni_args;
    rt.capability_args = e.capability_args;
    if (auto st = check_attachment(net, rt, false); !st) {
      errs.push_back(Error(st.error()).context("stale attachment"));
      continue;
    }
    auto a = FileLock::acquire(attachment_lock_path(options_, net.name, rt), FileLock::Mode::exclusive, options_.lock_timeout);
    if (!a) {
      errs.push_back(a.error());
      continue;
    }
    if (auto st = del_locked(*impl_, options_, net, rt); !st)
      errs.push_back(Error(st.error()).context(fmt::format("delete stale attachment {} {}", rt.container_id, rt.ifname)));
    else
      a->unlink_and_release();
  }
  if (at_least(net.cni_version, "1.1.0")) {
    json attachments = json::array();
    for (auto& v : valid) attachments.push_back({{"containerID", v.container_id}, {"ifname", v.ifname}});
    PluginCall call;
    call.command = "GC";
    call.plugin_dirs = options_.plugin_dirs;
    for (auto& p : net.plugins) {
      auto path = find_plugin(p.type, options_.plugin_dirs);
      if (!path) {
        errs.push_back(path.error());
        continue;
      }
      auto info = probe(*impl_, options_, p.type, *path);
      if (!info) {
        errs.push_back(info.error());
        continue;
      }
      if (!info->supports("1.1.0")) continue;  // no GC verb before 1.1.0
      json cfg = plugin_config(net, p, "1.1.0", nullptr, json::object());
      cfg["cni.dev/valid-attachments"] = attachments;
      cfg["cni.dev/attachments"] = attachments;  // the key's name in early 1.1.0 drafts; libcni sends both
      auto r = invoke_plugin(*options_.exec, p.type, *path, call, cfg, options_.deadline);
      if (!r) errs.push_back(r.error());
    }
  }
  if (!errs.empty()) return std::unexpected(join_errors(std::move(errs), doing));
  return {};
}

Result<std::vector<PluginVersionInfo>> Runtime::versions(const NetworkConfigList& net) {
  std::vector<PluginVersionInfo> out;
  for (auto& p : net.plugins) {
    auto path = find_plugin(p.type, options_.plugin_dirs);
    if (!path) return fail_with(path, "cni version of network " + net.name);
    auto info = probe(*impl_, options_, p.type, *path);
    if (!info) return fail_with(info, "cni version of network " + net.name);
    out.push_back(std::move(*info));
  }
  return out;
}

Result<CniResult> Runtime::cached_result(const std::string& network, const std::string& container_id,
                                         const std::string& ifname) const {
  auto e = ResultCache(options_.cache_dir).read(network, container_id, ifname);
  if (!e) return std::unexpected(e.error());
  if (!*e || (*e)->result.is_null())
    return fail(Errc::not_found, fmt::format("cached result of {} {} on network {}", container_id, ifname, network));
  return parse_result((*e)->result);
}

Result<std::vector<CacheEntry>> Runtime::cached_attachments(const std::string& network) const {
  return ResultCache(options_.cache_dir).list(network);
}

}  // namespace podns::cni
