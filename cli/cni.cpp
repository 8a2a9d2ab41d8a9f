// podns cni add|del|check|status|gc|version|ls: the CNI runtime from the command line, like
// cnitool: NETCONFPATH, CNI_PATH, CNI_IFNAME, CNI_ARGS, CAP_ARGS and CNI_CONTAINERID are honoured
// (flags override them); an ADD prints the result JSON on stdout.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "cli.hpp"
#include "podns/cni/runtime.hpp"
#include "podns/names.hpp"
#include "podns/json_dump.hpp"
#include "podns/json_parse.hpp"

namespace podns::cli {
namespace {

using nlohmann::json;

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : std::move(fallback);
}

// Flags shared by every cni verb.
struct CniFlags {
  std::string conf_dir, plugin_path, cache_dir;
  double timeout = 60;

  void add_to(CLI::App* cmd) {
    cmd->add_option("--conf-dir", conf_dir, "Network configs (env NETCONFPATH, default /etc/cni/net.d)");
    cmd->add_option("--plugin-path", plugin_path, "Plugin dirs, colon-separated (env CNI_PATH)");
    cmd->add_option("--cache-dir", cache_dir, "Result cache (default /var/lib/cni, or <state-dir>/cni)");
    cmd->add_option("--timeout", timeout, "Seconds one plugin call may take before it is killed")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
  }
  std::string effective_conf_dir() const {
    return conf_dir.empty() ? env_or("NETCONFPATH", std::string(cni::kDefaultConfDir)) : conf_dir;
  }
  cni::Runtime runtime(const Globals& g) const {
    cni::RuntimeOptions o;
    std::string path = plugin_path.empty() ? env_or("CNI_PATH", "") : plugin_path;
    o.plugin_dirs = path.empty() ? cni::default_plugin_dirs() : cni::split_path_list(path);
    o.cache_dir = cache_dir.empty() ? g.paths().cni_cache_dir : cache_dir;
    o.deadline = std::chrono::milliseconds(static_cast<long long>(timeout * 1000));
    o.on_warning = [](const Error& e) { fmt::print(stderr, "podns: warning: {}\n", e.message()); };
    return cni::Runtime(std::move(o));
  }
};

// "K=V;K2=V2" (CNI_ARGS syntax).
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

// Flags of the verbs that act on one attachment.
struct AttachFlags : CniFlags {
  std::string network, netns, container_id, ifname, args, cap_args;
  bool have_args = false, have_cap_args = false;

  void add_to(CLI::App* cmd, bool netns_required) {
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

  Result<cni::RuntimeConf> conf(const Globals& g) const {
    cni::RuntimeConf rt;
    if (!netns.empty()) {
      if (netns.find('/') != std::string::npos) {
        // Any path is taken as given (the library refuses relative ones).
        rt.netns = netns;
      } else {
        if (auto st = validate_name(netns); !st) return fail_with(st, "NETNS");
        rt.netns = g.paths().netns_dir + "/" + netns;
      }
    }
    rt.container_id = !container_id.empty() ? container_id : env_or("CNI_CONTAINERID", "");
    if (rt.container_id.empty()) {
      if (rt.netns.empty()) return fail(Errc::invalid_argument, "give NETNS or --container-id");
      rt.container_id = cni::cnitool_container_id(rt.netns);
    }
    rt.ifname = !ifname.empty() ? ifname : env_or("CNI_IFNAME", "eth0");
    auto a = parse_cni_args(!args.empty() ? args : env_or("CNI_ARGS", ""));
    if (!a) return std::unexpected(a.error());
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
};

Result<cni::NetworkConfigList> load(const CniFlags& f, const std::string& network) {
  return cni::load_network(f.effective_conf_dir(), network);
}

void register_attach_verbs(CLI::App& app, Globals& g, Action& action) {
  CLI::App& cni_group = group(app, "cni", "Run CNI plugins on a network namespace, like cnitool");
  struct Verb {
    const char* name;
    const char* help;
    bool netns_required;
  };
  for (Verb v : {Verb{"add", "Attach NETNS to network NET and print the result", true},
                 Verb{"del", "Detach (best effort, idempotent; works when NETNS is gone)", false},
                 Verb{"check", "Check an attachment against its cached result", true}}) {
    auto flags = std::make_shared<AttachFlags>();
    auto* cmd = cni_group.add_subcommand(v.name, v.help);
    flags->add_to(cmd, v.netns_required);
    std::string verb = v.name;
    cmd->callback([&g, &action, flags, verb] {
      action = [&g, flags, verb]() -> Status {
        auto net = load(*flags, flags->network);
        if (!net) return fail_with(net, "cni " + verb);
        auto rt = flags->conf(g);
        if (!rt) return fail_with(rt, "cni " + verb);
        cni::Runtime runtime = flags->runtime(g);
        if (verb == "add") {
          auto r = runtime.add(*net, *rt);
          if (!r) return std::unexpected(r.error());
          auto j = r->to_json();
          if (!j) return std::unexpected(j.error());
          print_line(json_dump(*j, 2));
          return {};
        }
        return verb == "del" ? runtime.del(*net, *rt) : runtime.check(*net, *rt);
      };
    });
  }
}

void register_network_verbs(CLI::App& app, Globals& g, Action& action) {
  CLI::App& cni_group = group(app, "cni", "Run CNI plugins on a network namespace, like cnitool");

  {
    auto flags = std::make_shared<CniFlags>();
    auto net = std::make_shared<std::string>();
    auto* cmd = cni_group.add_subcommand("status", "Ask every plugin of NET that supports it (CNI 1.1.0) for STATUS");
    flags->add_to(cmd);
    cmd->add_option("NET", *net, "Network name")->required();
    cmd->callback([&g, &action, flags, net] {
      action = [&g, flags, net]() -> Status {
        auto n = load(*flags, *net);
        if (!n) return fail_with(n, "cni status");
        return flags->runtime(g).status(*n);
      };
    });
  }
  {
    auto flags = std::make_shared<CniFlags>();
    auto net = std::make_shared<std::string>();
    auto valid = std::make_shared<std::vector<std::string>>();
    auto* cmd = cni_group.add_subcommand(
        "gc", "DEL cached attachments of NET not listed with --valid, then GC in every plugin that supports it");
    flags->add_to(cmd);
    cmd->add_option("NET", *net, "Network name")->required();
    cmd->add_option("--valid", *valid, "An attachment to keep: CONTAINER_ID or CONTAINER_ID:IFNAME (default eth0)");
    cmd->callback([&g, &action, flags, net, valid] {
      action = [&g, flags, net, valid]() -> Status {
        auto n = load(*flags, *net);
        if (!n) return fail_with(n, "cni gc");
        std::vector<cni::Attachment> keep;
        for (auto& v : *valid) {
          auto colon = v.find(':');
          cni::Attachment a{v.substr(0, colon), colon == std::string::npos ? "eth0" : v.substr(colon + 1)};
          if (auto st = cni::validate_container_id(a.container_id); !st) return fail_with(st, "--valid");
          if (auto st = validate_ifname(a.ifname); !st) return fail_with(st, "--valid");
          keep.push_back(std::move(a));
        }
        return flags->runtime(g).gc(*n, keep);
      };
    });
  }
  {
    auto flags = std::make_shared<CniFlags>();
    auto net = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    auto* cmd = cni_group.add_subcommand("version", "The CNI versions each plugin of NET supports (VERSION)");
    flags->add_to(cmd);
    cmd->add_option("NET", *net, "Network name")->required();
    cmd->add_flag("--json", *as_json, "JSON output");
    cmd->callback([&g, &action, flags, net, as_json] {
      action = [&g, flags, net, as_json]() -> Status {
        auto n = load(*flags, *net);
        if (!n) return fail_with(n, "cni version");
        auto infos = flags->runtime(g).versions(*n);
        if (!infos) return std::unexpected(infos.error());
        if (*as_json) {
          json out = json::array();
          for (auto& i : *infos)
            out.push_back({{"type", i.type}, {"path", i.path}, {"cniVersion", i.cni_version},
                           {"supportedVersions", i.supported}});
          print_line(json_dump(json{{"network", n->name}, {"cniVersion", n->cni_version}, {"plugins", out}}, 2));
        } else {
          print_line(fmt::format("network {} (cniVersion {})", n->name, n->cni_version));
          for (auto& i : *infos) print_line(fmt::format("  {:<12} {}  [{}]", i.type, i.path, fmt::join(i.supported, ", ")));
        }
        return {};
      };
    });
  }
  {
    auto flags = std::make_shared<CniFlags>();
    auto as_json = std::make_shared<bool>(false);
    auto* cmd = cni_group.add_subcommand("ls", "List the networks in the conf dir, in load order");
    flags->add_to(cmd);
    cmd->add_flag("--json", *as_json, "JSON output");
    cmd->callback([&action, flags, as_json] {
      action = [flags, as_json]() -> Status {
        auto nets = cni::load_networks(flags->effective_conf_dir());
        if (!nets) return fail_with(nets, "cni ls");
        if (*as_json) {
          json out = json::array();
          for (auto& n : *nets) {
            json types = json::array();
            for (auto& p : n.plugins) types.push_back(p.type);
            out.push_back({{"name", n.name}, {"cniVersion", n.cni_version}, {"plugins", types}, {"file", n.source}});
          }
          print_line(json_dump(out, 2));
        } else {
          print_line(fmt::format("{:<20} {:<8} {:<40} {}", "NAME", "VERSION", "PLUGINS", "FILE"));
          for (auto& n : *nets) {
            std::vector<std::string> types;
            for (auto& p : n.plugins) types.push_back(p.type);
            print_line(fmt::format("{:<20} {:<8} {:<40} {}", n.name, n.cni_version, fmt::format("{}", fmt::join(types, ",")),
                                   n.source));
          }
        }
        return {};
      };
    });
  }
}

Registrar reg_attach("cni", register_attach_verbs);
Registrar reg_network("cni", register_network_verbs);

}  // namespace
}  // namespace podns::cli
