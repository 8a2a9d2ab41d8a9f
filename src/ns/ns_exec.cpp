// exec_in_namespaces and exec_in_pins: one engine, spawn(), for every set (with a user namespace
// or without), plus what `ip netns exec` adds for a netns; then wait.
#include "podns/ns_exec.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "podns/pin.hpp"
#include "podns/spawn.hpp"

namespace podns {

Result<int> exec_in_set(std::vector<NamespaceRequest> set, const std::vector<std::string>& argv,
                        const std::string& netns_name, const std::string& etc_netns_dir) {
  if (argv.empty() || argv[0].empty()) return fail(Errc::invalid_argument, "exec: no command given");
  auto has = [&](NamespaceType t) {
    return std::any_of(set.begin(), set.end(), [t](const NamespaceRequest& r) { return r.type == t; });
  };
  SpawnRequest req;
  req.argv = argv;
  if (has(NamespaceType::net) && !has(NamespaceType::mnt)) {
    set.push_back({NamespaceType::mnt, ""});
    req.fresh_sysfs = true;
    req.netns_name = netns_name;
    req.etc_netns_dir = etc_netns_dir;
  }
  req.namespaces = std::move(set);
  auto child = spawn(req);
  if (!child) return fail(child.error());
  return child->wait();
}

Result<int> exec_in_namespaces(const NsExecRequest& req) {
  std::vector<NamespaceRequest> set;
  for (const auto& ns : req.namespaces)
    set.push_back({ns.type(), fmt::format("/proc/self/fd/{}", ns.fd().get())});
  return exec_in_set(std::move(set), req.argv, req.netns_name, req.etc_netns_dir);
}

Result<int> exec_in_pins(const Paths& paths, std::string_view name, const std::vector<std::string>& argv,
                         const std::function<void(const std::string&)>& warn) {
  auto doing = fmt::format("exec in {}", name);
  auto pins = find_pins(paths, name);
  if (!pins) return fail_with(pins, doing);
  std::vector<NamespaceRequest> set;
  for (const auto& p : *pins)
    if (p.live) set.push_back({p.type, p.path});
  if (set.empty()) return fail(Errc::not_found, fmt::format("{}: no such pin", doing));
  if (warn) {
    for (const auto& w : namespace_ownership_warnings(set)) warn(w);
  }
  auto r = exec_in_set(std::move(set), argv, std::string(name), "/etc/netns");
  if (!r) return fail_with(r, doing);
  return r;
}

}  // namespace podns
