// podns cni check NET NETNS: ask every plugin to CHECK the attachment against its cached result.
#include "cni_common.hpp"

namespace podns::cli {
namespace {

void register_cni_check(CLI::App& app, Globals& g, Action& action) {
  register_attach_verb(app, g, action, "check", "Check an attachment against its cached result", true,
                       [](cni::Runtime& runtime, const cni::NetworkConfigList& net, const cni::RuntimeConf& rt) {
                         return runtime.check(net, rt);
                       });
}

Registrar cni_check_registrar("cni", register_cni_check);

}  // namespace
}  // namespace podns::cli
