#include "pod/ipmasq_leak.hpp"

#include <unistd.h>

#include <set>
#include <sstream>

#include <fmt/format.h>

#include "podns/cni/invoke.hpp"

namespace podns::pod::detail {
namespace {

std::string find_tool(const std::string& name) {
  for (const char* dir : {"/usr/sbin", "/sbin", "/usr/bin", "/bin"}) {
    std::string p = fmt::format("{}/{}", dir, name);
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}

// ProcessExec runs a binary without arguments, stdin and env given: let sh (reading its script from
// stdin) exec the tool with the arguments passed through the environment, so no quoting is needed.
Result<cni::ExecOutput> run_tool(const std::string& path, const std::vector<std::string>& args) {
  cni::ExecRequest req;
  req.path = "/bin/sh";
  req.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TOOL=" + path};
  req.input = "exec \"$TOOL\"";
  for (size_t i = 0; i < args.size(); ++i) {
    req.env.push_back(fmt::format("ARG{}={}", i, args[i]));
    req.input += fmt::format(" \"$ARG{}\"", i);
  }
  req.input += "\n";
  req.deadline = std::chrono::seconds(30);
  cni::ProcessExec exec;
  return exec.run(req);
}

}  // namespace

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

}  // namespace podns::pod::detail
