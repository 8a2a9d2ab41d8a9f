// podns cni del NET [NETNS]: detach, best effort and idempotent (plugins in reverse order); works
// when NETNS is gone, as the CNI spec asks of a DEL.
#include "cni_common.hpp"

namespace podns::cli {
namespace {

void register_cni_del(CLI::App& app, Globals& g, Action& action) {
  register_attach_verb(app, g, action, "del", "Detach (best effort, idempotent; works when NETNS is gone)", false,
                       [](cni::Runtime& runtime, const cni::NetworkConfigList& net, const cni::RuntimeConf& rt) {
                         return runtime.del(net, rt);
                       });
}

Registrar cni_del_registrar("cni", register_cni_del);

}  // namespace
}  // namespace podns::cli
