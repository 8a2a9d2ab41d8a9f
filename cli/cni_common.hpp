// What the `podns cni` verbs share (a cnitool from the command line): the group, the flags every
// verb takes and those of the verbs that act on one attachment. NETCONFPATH, CNI_PATH, CNI_IFNAME,
// CNI_ARGS, CAP_ARGS and CNI_CONTAINERID are honoured as cnitool honours them; flags override them.
#pragma once

#include <functional>
#include <string>

#include "cli.hpp"
#include "podns/cni/config.hpp"
#include "podns/cni/runtime.hpp"

namespace podns::cli {

inline CLI::App& cni_group(CLI::App& app) {
  return group(app, "cni", "Run CNI plugins on a network namespace, like cnitool");
}

// Flags shared by every cni verb.
struct CniFlags {
  std::string conf_dir, plugin_path, cache_dir;
  double timeout = 60;

  void add_to(CLI::App* cmd);
  std::string effective_conf_dir() const;                  // --conf-dir, NETCONFPATH, /etc/cni/net.d
  cni::Runtime runtime(const Globals& g) const;            // warnings go to stderr
  Result<cni::NetworkConfigList> load(const std::string& network) const;
};

// Flags of the verbs that act on one attachment (add, del, check).
struct AttachFlags : CniFlags {
  std::string network, netns, container_id, ifname, args, cap_args;

  void add_to(CLI::App* cmd, bool netns_required);
  // The attachment the flags and the environment name.
  Result<cni::RuntimeConf> conf(const Globals& g) const;
};

// Registers `podns cni VERB NET NETNS` (add, del, check): `run` gets the loaded network and the
// attachment.
using AttachVerbFn = std::function<Status(cni::Runtime&, const cni::NetworkConfigList&, const cni::RuntimeConf&)>;
void register_attach_verb(CLI::App& app, Globals& g, Action& action, const char* verb, const char* help,
                          bool netns_required, AttachVerbFn run);

}  // namespace podns::cli
