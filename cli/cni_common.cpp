#include "cni_common.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "podns/json_parse.hpp"
#include "podns/names.hpp"
#include "podns/pin.hpp"

namespace podns::cli {
namespace {

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : std::move(fallback);
}

}  // namespace

void CniFlags::add_to(CLI::App* cmd) {
  cmd->add_option("--conf-dir", conf_dir, "Network configs (env NETCONFPATH, default /etc/cni/net.d)");
  cmd->add_option("--plugin-path", plugin_path, "Plugin dirs, colon-separated (env CNI_PATH)");
  cmd->add_option("--cache-dir", cache_dir, "Result cache (default /var/lib/cni, or <state-dir>/cni)");
  cmd->add_option("--timeout", timeout, "Seconds one plugin call may take before it is killed")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

std::string CniFlags::effective_conf_dir() const {
  return conf_dir.empty() ? cni::conf_dir_from_environment() : conf_dir;
}

cni::Runtime CniFlags::runtime(const Globals& g) const {
  cni::RuntimeOptions o;
  o.plugin_dirs = plugin_path.empty() ? cni::plugin_dirs_from_environment() : cni::split_path_list(plugin_path);
  o.cache_dir = cache_dir.empty() ? g.paths().cni_cache_dir : cache_dir;
  o.deadline = std::chrono::milliseconds(static_cast<long long>(timeout * 1000));
  o.on_warning = [](const Error& e) { fmt::print(stderr, "podns: warning: {}\n", e.message()); };
  return cni::Runtime(std::move(o));
}

Result<cni::NetworkConfigList> CniFlags::load(const std::string& network) const {
  return cni::load_network(effective_conf_dir(), network);
}

void AttachFlags::add_to(CLI::App* cmd, bool netns_required) {
  CniFlags::add_to(cmd);
  cmd->add_option("NET", network, "Network name")->required();
  auto* ns = cmd->add_option("NETNS", netns, "Network namespace: a path, or a name in the netns pin dir");
  if (netns_required) ns->required();
  cmd->add_option("--container-id", container_id,
                  "Container id (env CNI_CONTAINERID; default cnitool's, derived from NETNS)");
  cmd->add_option("--ifname", ifname, "Interface in the pod (env CNI_IFNAME, default eth0)");
  cmd->add_option("--args", args, "CNI_ARGS, \"K=V;K2=V2\" (env CNI_ARGS)");
  cmd->add_option("--cap-args", cap_args, "Capability args as JSON, e.g. {\"portMappings\":[...]} (env CAP_ARGS)");
}

Result<cni::RuntimeConf> AttachFlags::conf(const Globals& g) const {
  cni::RuntimeConf rt;
  if (!netns.empty()) {
    if (netns.find('/') != std::string::npos) {
      // Any path is taken as given (the library refuses relative ones).
      rt.netns = netns;
    } else {
      if (auto st = validate_name(netns); !st) return fail_with(st, "NETNS");
      rt.netns = pin_path(g.paths(), NamespaceType::net, netns);
    }
  }
  rt.container_id = !container_id.empty() ? container_id : env_or("CNI_CONTAINERID", "");
  if (rt.container_id.empty()) {
    if (rt.netns.empty()) return fail(Errc::invalid_argument, "give NETNS or --container-id");
    rt.container_id = cni::cnitool_container_id(rt.netns);
  }
  rt.ifname = !ifname.empty() ? ifname : env_or("CNI_IFNAME", "eth0");
  auto a = cni::parse_cni_args(!args.empty() ? args : env_or("CNI_ARGS", ""));
  if (!a) return fail(a.error());
  rt.args = std::move(*a);
  std::string caps = !cap_args.empty() ? cap_args : env_or("CAP_ARGS", "");
  if (!caps.empty()) {
    auto j = parse_json(caps, {.max_bytes = 1u << 20, .error = Errc::invalid_argument});
    if (!j) return fail_with(j, "CAP_ARGS");
    if (!j->is_object()) return fail(Errc::invalid_argument, "CAP_ARGS: not a JSON object");
    rt.capability_args = std::move(*j);
  }
  return rt;
}

void register_attach_verb(CLI::App& app, Globals& g, Action& action, const char* verb, const char* help,
                          bool netns_required, AttachVerbFn run) {
  auto flags = std::make_shared<AttachFlags>();
  auto* cmd = cni_group(app).add_subcommand(verb, help);
  flags->add_to(cmd, netns_required);
  std::string what = std::string("cni ") + verb;
  cmd->callback([&g, &action, flags, what, run] {
    action = [&g, flags, what, run]() -> Status {
      auto net = flags->load(flags->network);
      if (!net) return fail_with(net, what);
      auto rt = flags->conf(g);
      if (!rt) return fail_with(rt, what);
      cni::Runtime runtime = flags->runtime(g);
      return run(runtime, *net, *rt);
    };
  });
}

}  // namespace podns::cli
