// podns cni add NET NETNS: attach NETNS to network NET (every plugin of its conflist, in order)
// and print the result JSON, as `cnitool add`.
#include "cni_common.hpp"
#include "podns/json_dump.hpp"

namespace podns::cli {
namespace {

void register_cni_add(CLI::App& app, Globals& g, Action& action) {
  register_attach_verb(app, g, action, "add", "Attach NETNS to network NET and print the result", true,
                       [](cni::Runtime& runtime, const cni::NetworkConfigList& net, const cni::RuntimeConf& rt) -> Status {
                         auto r = runtime.add(net, rt);
                         if (!r) return fail(r.error());
                         auto j = r->to_json();
                         if (!j) return fail(j.error());
                         print_line(json_dump(*j, 2));
                         return {};
                       });
}

Registrar cni_add_registrar("cni", register_cni_add);

}  // namespace
}  // namespace podns::cli
