#include "cni/bridge_ipmasq.hpp"

#include <unistd.h>

#include <algorithm>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "podns/cni/invoke.hpp"

namespace podns::cni {
namespace {

std::string find_tool(const std::string& name) {
  for (const char* dir : {"/usr/sbin", "/sbin", "/usr/bin", "/bin"}) {
    std::string p = fmt::format("{}/{}", dir, name);
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}

Result<ExecOutput> run_tool(const std::string& path, const std::vector<std::string>& args) {
  ExecRequest req;
  req.path = path;
  req.args = args;
  req.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  req.deadline = std::chrono::seconds(30);
  ProcessExec exec;
  return exec.run(req);
}

}  // namespace

bool uses_bridge_ipmasq(const NetworkConfigList& net) {
  return std::any_of(net.plugins.begin(), net.plugins.end(), [](const auto& p) {
    return p.type == "bridge" && p.raw.is_object() && p.raw.value("ipMasq", false);
  });
}

Status remove_leaked_ipmasq(const std::string& network, const std::string& container_id) {
  const std::string comment = fmt::format("name: \"{}\" id: \"{}\"", network, container_id);
  for (const char* tool : {"iptables", "ip6tables"}) {
    std::string path = find_tool(tool);
    if (path.empty()) continue;
    auto listing = run_tool(path, {"-w", "-t", "nat", "-S", "POSTROUTING"});
    if (!listing || listing->exit_code != 0) continue;  // no nat table: nothing leaked
    // `iptables -S` prints the comment quoted, its quotes escaped.
    std::string listed = fmt::format("name: \\\"{}\\\" id: \\\"{}\\\"", network, container_id);
    std::set<std::string> chains;
    std::istringstream in(listing->out);
    for (std::string line; std::getline(in, line);) {
      if (line.find(listed) == std::string::npos) continue;
      auto j = line.find(" -j ");
      if (j == std::string::npos) continue;
      std::string chain = line.substr(j + 4);
      if (chain.rfind("CNI-", 0) != 0) continue;
      // "-A POSTROUTING -s 10.0.0.2/32 -m comment --comment "..." -j CNI-x": delete by its spec.
      auto s = line.find(" -s ");
      if (s == std::string::npos) continue;
      std::string source = line.substr(s + 4, line.find(' ', s + 4) - (s + 4));
      auto del = run_tool(path, {"-w", "-t", "nat", "-D", "POSTROUTING", "-s", source, "-m", "comment", "--comment",
                                 comment, "-j", chain});
      if (!del || del->exit_code != 0)
        return fail(Errc::plugin_failed, fmt::format("{} -t nat -D POSTROUTING ... -j {}: {}", tool, chain,
                                                     del ? del->err : del.error().message()));
      chains.insert(chain);
    }
    for (const auto& chain : chains) {
      (void)run_tool(path, {"-w", "-t", "nat", "-F", chain});
      (void)run_tool(path, {"-w", "-t", "nat", "-X", chain});
    }
  }
  return {};
}

}  // namespace podns::cni
