// podns-bridge, the CNI plugin: CNI's protocol (the CNI_* variables, the config on stdin, the
// result or error object on stdout, the exit code) in front of the podns-bridge operations of
// podns/pod/plugin.hpp. The executable (plugin/main.cpp) only reads its process into an
// Invocation and writes the Outcome back.
#pragma once

#include <string>

namespace podns::plugin {

// What one call brings: the CNI_* variables and stdin. podns's own variables (PODNS_STATE_DIR,
// PODNS_RUN_DIR, PODNS_NFT_TABLE) are read from the process environment, as the CLI reads them.
struct Invocation {
  std::string command;       // CNI_COMMAND
  std::string container_id;  // CNI_CONTAINERID
  std::string netns;         // CNI_NETNS
  std::string ifname;        // CNI_IFNAME
  std::string args;          // CNI_ARGS, "K=V;K2=V2"
  std::string stdin_text;
};

struct Outcome {
  int exit_code = 0;
  std::string out;  // the result, VERSION answer or error object (JSON), or nothing
  std::string err;  // warnings and the no-command banner
};

// One CNI call, start to end. Never throws.
Outcome run(const Invocation& in);

}  // namespace podns::plugin
