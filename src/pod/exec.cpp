// pod exec: a command in all of the pod's namespaces (what `ip netns exec` does for one).
#include <filesystem>

#include <fmt/format.h>

#include "pod/internal.hpp"
#include "podns/ns_exec.hpp"

namespace podns::pod {

Result<int> exec(const PodEnv& env, const std::string& name, const std::vector<std::string>& argv) {
  auto doing = fmt::format("exec in pod {}", name);
  if (argv.empty()) return fail(Errc::invalid_argument, fmt::format("{}: no command", doing));
  // The store is closed again before the command runs: it may run for hours, and a ready pod's
  // state does not change under it (a `pod rm` meanwhile only takes the pins; the command keeps
  // the namespaces it joined alive).
  auto st = [&]() -> Result<state::PodState> {
    auto store = detail::open_store(env);
    if (!store) return fail(store.error());
    return store->load(name);
  }();
  if (!st) {
    if (st.error().is(Errc::not_found)) return fail(Errc::not_found, fmt::format("{}: no such pod", doing));
    return fail_with(st, doing);
  }
  if (st->pod.phase != state::PodPhase::ready)
    return fail(Errc::busy, fmt::format("{}: pod is {}", doing, state::to_string(st->pod.phase)));
  std::vector<NamespaceRequest> set;
  for (const auto& p : st->pins) {
    auto t = parse_namespace_type(p.type);
    if (!t) return fail_with(t, doing);
    set.push_back({*t, p.path});
  }
  // As `ns exec` and `ip netns exec` of the pod's netns pin: its sysfs on /sys, its /etc/netns.
  auto code = exec_in_set(std::move(set), argv, std::filesystem::path(st->pod.netns_path).filename().string());
  if (!code) return fail_with(code, doing);
  return *code;
}

}  // namespace podns::pod
