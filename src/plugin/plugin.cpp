// CNI's protocol for podns-bridge: the verbs, what each requires of the CNI_* variables and the
// config, results in the requested version, and podns errors as CNI error objects with the
// spec's codes.
#include "podns/plugin/plugin.hpp"

#include <algorithm>
#include <exception>

#include <fmt/format.h>

#include "plugin/netconf.hpp"
#include "podns/cni/runtime.hpp"
#include "podns/json_dump.hpp"
#include "podns/json_parse.hpp"
#include "podns/paths.hpp"
#include "podns/pod/plugin.hpp"

namespace podns::plugin {
namespace {

using nlohmann::json;

Outcome failed(const cni::CniError& e, std::string_view version, std::string warnings = {}) {
  return {1, json_dump(e.to_json(version)) + "\n", std::move(warnings)};
}

// A podns error as a CNI error: a lock or the database busy past its timeout is "try again later"
// (the runtime retries); `otherwise` for the rest.
cni::CniError cni_error(const Error& e, int otherwise = cni::err::kInternal) {
  int code = otherwise;
  if (e.is(Errc::busy) || e.is(Errc::timed_out)) code = cni::err::kTryAgainLater;
  return {code, e.message(), {}};
}

bool at_least(std::string_view v, std::string_view min) {
  auto c = cni::compare_versions(v, min);
  return c && *c >= 0;
}

// The variables a verb needs (CNI SPEC, "Parameters").
std::optional<cni::CniError> require(const Invocation& in, bool netns) {
  std::vector<std::string> missing;
  if (in.container_id.empty()) missing.push_back("CNI_CONTAINERID");
  if (netns && in.netns.empty()) missing.push_back("CNI_NETNS");
  if (in.ifname.empty()) missing.push_back("CNI_IFNAME");
  if (missing.empty()) return std::nullopt;
  std::string list;
  for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
  return cni::CniError{cni::err::kInvalidEnvironment, fmt::format("{} {} not set", list,
                                                                   missing.size() == 1 ? "is" : "are"), {}};
}

// Where this call keeps its state: podns's defaults and PODNS_* variables, then the config's keys.
pod::PodEnv make_env(const CommonConf& c, std::string& warnings) {
  Paths paths = Paths::from_environment();
  paths.move_run_dir(c.run_dir);
  paths.move_state_dir(c.state_dir);
  auto env = pod::PodEnv::from_paths(std::move(paths));
  env.db_checkpoint_pages = state::kShortLivedCheckpointPages;  // one CNI call per process
  if (!c.nft_table.empty()) env.nft_table = c.nft_table;
  if (c.lock_timeout) {
    env.lock_timeout = *c.lock_timeout;
    env.db_busy_timeout = *c.lock_timeout;
  }
  // The runtime logs a plugin's stderr.
  env.on_warning = [&warnings](const Error& e) { warnings += "podns-bridge: warning: " + e.message() + "\n"; };
  return env;
}

// Our result appended to a previous plugin's (when podns-bridge is not first in the chain): its
// interface indexes move past the previous ones.
cni::CniResult merge(cni::CniResult prev, const cni::CniResult& ours) {
  const int offset = static_cast<int>(prev.interfaces.size());
  prev.interfaces.insert(prev.interfaces.end(), ours.interfaces.begin(), ours.interfaces.end());
  for (auto ip : ours.ips) {
    if (ip.interface) *ip.interface += offset;
    prev.ips.push_back(std::move(ip));
  }
  prev.routes.insert(prev.routes.end(), ours.routes.begin(), ours.routes.end());
  if (prev.dns.empty()) prev.dns = ours.dns;
  return prev;
}

Outcome add(const Invocation& in, const CommonConf& c) {
  std::string warnings;
  if (auto e = require(in, true)) return failed(*e, c.cni_version);
  auto net = parse_network(c);
  if (!net) return failed(net.error(), c.cni_version);
  auto args = cni::parse_cni_args(in.args);
  if (!args) return failed(cni::CniError{cni::err::kInvalidEnvironment, args.error().message(), {}}, c.cni_version);
  auto asked = parse_requests(c, *args);
  if (!asked) return failed(asked.error(), c.cni_version);
  auto env = make_env(c, warnings);

  pod::PluginAddRequest req;
  req.key = {c.name, in.container_id, in.ifname};
  req.network = net->network;
  req.netns_path = in.netns;
  req.ips = asked->ips;
  req.mac = asked->mac;
  req.ports = asked->ports;
  req.default_route = net->default_route;
  req.routes = net->routes;
  req.config = c.raw;
  req.config.erase("prevResult");
  auto a = pod::plugin_add(env, req);
  if (!a) {
    // A definition that conflicts with the state's, or a request outside it: the config's fault.
    bool config = a.error().is(Errc::invalid_argument) || a.error().is(Errc::invalid_name);
    return failed(cni_error(a.error(), config ? cni::err::kInvalidConfig : cni::err::kInternal), c.cni_version,
                  std::move(warnings));
  }
  auto ours = cni::parse_result_text(a->result);
  if (!ours) return failed(cni_error(ours.error()), c.cni_version, std::move(warnings));
  ours->dns = net->dns;
  cni::CniResult final = std::move(*ours);
  if (c.prev_result) {
    auto prev = cni::parse_result(*c.prev_result, c.cni_version);
    if (!prev) return failed({cni::err::kInvalidConfig, "prevResult: " + prev.error().message(), {}}, c.cni_version);
    final = merge(std::move(*prev), final);
  }
  auto out = final.to_json(c.cni_version);
  if (!out) return failed(cni_error(out.error()), c.cni_version, std::move(warnings));
  return {0, json_dump(*out) + "\n", std::move(warnings)};
}

Outcome del(const Invocation& in, const CommonConf& c) {
  std::string warnings;
  // No netns needed: DEL frees everything from the state, with or without it (CNI SPEC).
  if (auto e = require(in, false)) return failed(*e, c.cni_version);
  auto env = make_env(c, warnings);
  if (auto s = pod::plugin_del(env, {c.name, in.container_id, in.ifname}); !s)
    return failed(cni_error(s.error()), c.cni_version, std::move(warnings));
  return {0, "", std::move(warnings)};
}

Outcome check(const Invocation& in, const CommonConf& c) {
  std::string warnings;
  if (!at_least(c.cni_version, "0.4.0"))
    return failed({cni::err::kIncompatibleVersion, "CHECK needs cniVersion 0.4.0 or later", {}}, c.cni_version);
  if (auto e = require(in, true)) return failed(*e, c.cni_version);
  auto net = parse_network(c);
  if (!net) return failed(net.error(), c.cni_version);
  if (!c.prev_result) return failed({cni::err::kInvalidConfig, "CHECK without prevResult", {}}, c.cni_version);
  auto prev = cni::parse_result(*c.prev_result, c.cni_version);
  if (!prev) return failed({cni::err::kInvalidConfig, "prevResult: " + prev.error().message(), {}}, c.cni_version);
  // Our interface in the previous result: the one of that name inside a sandbox; its addresses.
  std::optional<int> mine;
  for (size_t i = 0; i < prev->interfaces.size(); ++i)
    if (prev->interfaces[i].name == in.ifname && !prev->interfaces[i].sandbox.empty()) mine = static_cast<int>(i);
  std::vector<std::string> expected;
  for (const auto& ip : prev->ips)
    if (!mine || !ip.interface || *ip.interface == *mine) expected.push_back(ip.address);
  auto env = make_env(c, warnings);
  if (auto s = pod::plugin_check(env, {c.name, in.container_id, in.ifname}, net->network, in.netns, expected); !s) {
    int code = s.error().is(Errc::not_found) ? cni::err::kUnknownContainer : cni::err::kInternal;
    return failed(cni_error(s.error(), code), c.cni_version, std::move(warnings));
  }
  return {0, "", std::move(warnings)};
}

Outcome status(const CommonConf& c) {
  std::string warnings;
  if (!at_least(c.cni_version, "1.1.0"))
    return failed({cni::err::kIncompatibleVersion, "STATUS needs cniVersion 1.1.0", {}}, c.cni_version);
  auto net = parse_network(c);
  if (!net) return failed(net.error(), c.cni_version);
  auto env = make_env(c, warnings);
  auto st = pod::plugin_status(env, net->network);
  switch (st.health) {
    case pod::PluginHealth::ready: return {0, "", std::move(warnings)};
    case pod::PluginHealth::unavailable:
      return failed({cni::err::kNotAvailable, st.why, {}}, c.cni_version, std::move(warnings));
    case pod::PluginHealth::degraded:
      return failed({cni::err::kLimitedConnectivity, st.why, {}}, c.cni_version, std::move(warnings));
  }
  return {0, "", std::move(warnings)};
}

Outcome gc(const CommonConf& c) {
  std::string warnings;
  if (!at_least(c.cni_version, "1.1.0"))
    return failed({cni::err::kIncompatibleVersion, "GC needs cniVersion 1.1.0", {}}, c.cni_version);
  auto valid = parse_valid_attachments(c);
  if (!valid) return failed(valid.error(), c.cni_version);
  auto env = make_env(c, warnings);
  auto cleaned = pod::plugin_gc(env, c.name, *valid);
  if (!cleaned) return failed(cni_error(cleaned.error()), c.cni_version, std::move(warnings));
  for (const auto& line : *cleaned) warnings += "podns-bridge: gc: " + line + "\n";
  return {0, "", std::move(warnings)};
}

// The version the answer speaks: the config's when it names one podns-bridge supports.
std::string version_of(std::string_view stdin_text) {
  auto j = parse_json(stdin_text, {.max_bytes = 1u << 20, .error = Errc::invalid_argument});
  if (j && j->is_object()) {
    auto v = j->find("cniVersion");
    if (v != j->end() && v->is_string() && cni::version_supported(v->get<std::string>())) return v->get<std::string>();
  }
  return std::string(cni::kSpecVersion);
}

Outcome version(const Invocation& in) {
  json supported = json::array();
  for (auto v : cni::supported_versions()) supported.push_back(std::string(v));
  return {0, json_dump(json{{"cniVersion", version_of(in.stdin_text)}, {"supportedVersions", supported}}) + "\n", {}};
}

Outcome dispatch(const Invocation& in) {
  if (in.command.empty()) {
    std::string versions;
    for (auto v : cni::supported_versions()) versions += (versions.empty() ? "" : ", ") + std::string(v);
    return {0, "", fmt::format("podns-bridge: CNI plugin over podns's native network driver\n"
                               "CNI protocol versions supported: {}\n", versions)};
  }
  if (in.command == "VERSION") return version(in);
  static constexpr std::string_view kVerbs[] = {"ADD", "DEL", "CHECK", "STATUS", "GC"};
  if (std::find(std::begin(kVerbs), std::end(kVerbs), in.command) == std::end(kVerbs))
    return failed({cni::err::kInvalidEnvironment, fmt::format("CNI_COMMAND \"{}\" is not a CNI verb", in.command), {}},
                  version_of(in.stdin_text));
  auto c = parse_common(in.stdin_text);
  if (!c) return failed(c.error(), version_of(in.stdin_text));
  if (in.command == "ADD") return add(in, *c);
  if (in.command == "DEL") return del(in, *c);
  if (in.command == "CHECK") return check(in, *c);
  if (in.command == "STATUS") return status(*c);
  return gc(*c);
}

}  // namespace

Outcome run(const Invocation& in) {
  try {
    return dispatch(in);
  } catch (const std::exception& e) {
    // A bug or bad_alloc: still an error object, never an abort without one.
    return failed({cni::err::kInternal, fmt::format("podns-bridge: {}", e.what()), {}}, cni::kSpecVersion);
  }
}

}  // namespace podns::plugin
