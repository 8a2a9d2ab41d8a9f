#include "podns/pod/default_network.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>

#include "podns/fd.hpp"
#include "podns/parse_int.hpp"
#include "podns/json_dump.hpp"
#include "podns/make_dirs.hpp"
#include "podns/write_file.hpp"

namespace podns::pod {
namespace {

// The first host address of an IPv4 subnet "a.b.c.d/len": the gateway.
Result<std::string> first_host(const std::string& subnet) {
  auto slash = subnet.find('/');
  in_addr addr{};
  int len = -1;
  if (slash != std::string::npos) len = parse_int<int>(std::string_view(subnet).substr(slash + 1)).value_or(-1);
  if (slash == std::string::npos || inet_pton(AF_INET, subnet.substr(0, slash).c_str(), &addr) != 1 || len < 8 ||
      len > 30)
    return fail(Errc::invalid_argument,
                fmt::format("default network subnet \"{}\": expected an IPv4 CIDR with a prefix of 8-30", subnet));
  uint32_t host = ntohl(addr.s_addr);
  uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
  if (host & ~mask)
    return fail(Errc::invalid_argument, fmt::format("default network subnet \"{}\": host bits are set", subnet));
  in_addr gw{htonl((host & mask) + 1)};
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &gw, buf, sizeof buf);
  return std::string(buf);
}

}  // namespace

Result<nlohmann::json> default_network_conflist(const DefaultNetworkOptions& o) {
  auto gw = first_host(o.subnet);
  if (!gw) return fail(gw.error());
  if (o.data_dir.empty()) return fail(Errc::invalid_argument, "default network: no host-local dataDir");
  nlohmann::json ipam = {
      {"type", "host-local"},
      {"ranges", {{{{"subnet", o.subnet}, {"gateway", *gw}}}}},
      {"routes", {{{"dst", "0.0.0.0/0"}}}},
      {"dataDir", o.data_dir},
  };
  return nlohmann::json{
      {"cniVersion", "1.0.0"},
      {"name", o.name},
      {"plugins",
       {
           {{"type", "bridge"},
            {"bridge", o.bridge},
            {"isGateway", true},
            {"ipMasq", true},
            {"hairpinMode", true},
            {"capabilities", {{"ips", true}}},
            {"ipam", ipam}},
           {{"type", "portmap"}, {"capabilities", {{"portMappings", true}}}},
           {{"type", "firewall"}, {"backend", "iptables"}},
           {{"type", "tuning"}, {"capabilities", {{"mac", true}}}},
       }},
  };
}

Result<std::string> ensure_default_network(const std::string& conf_dir, const DefaultNetworkOptions& o) {
  std::string path = fmt::format("{}/{}.conflist", conf_dir, o.name);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return path;
  auto doc = default_network_conflist(o);
  if (!doc) return fail(doc.error());
  if (auto st = make_dirs(conf_dir, 0755); !st) return fail_with(st, "write default network");
  // A conflist already there (another podns wrote it first, or the operator) is kept.
  if (auto s = write_file_atomically(path, json_dump(*doc, 2) + "\n", {.mode = 0644, .replace = false}); !s)
    return fail_with(s, "write default network");
  return path;
}

}  // namespace podns::pod
