#include "podns/pod/spec.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cctype>

#include <fmt/format.h>

#include "podns/rootless/driver.hpp"

#include "podns/names.hpp"
#include "podns/json_parse.hpp"
#include "podns/parse_int.hpp"

namespace podns::pod {
namespace {

Result<int> parse_port(std::string_view s, std::string_view what, std::string_view spec) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < 1 || v > 65535)
    return fail(Errc::invalid_argument, fmt::format("port mapping \"{}\": {} \"{}\" is not a port (1-65535)",
                                                     spec, what, s));
  return v;
}

bool is_ip(std::string_view s, int* family = nullptr) {
  std::string str(s);
  unsigned char buf[16];
  if (inet_pton(AF_INET, str.c_str(), buf) == 1) {
    if (family) *family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, str.c_str(), buf) == 1) {
    if (family) *family = AF_INET6;
    return true;
  }
  return false;
}

bool is_mac(std::string_view s) {
  if (s.size() != 17) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i % 3 == 2) {
      if (s[i] != ':') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  // Bit 0 of the first octet marks a multicast address, which no interface may have.
  auto first = parse_int<unsigned>(s.substr(0, 2), 16);
  return first && (*first & 1) == 0;
}

// "8080" -> {8080, 1}; "8080-8082" -> {8080, 3}.
Result<std::pair<int, int>> parse_port_range(std::string_view s, std::string_view what, std::string_view spec) {
  auto dash = s.find('-');
  auto first = parse_port(s.substr(0, dash), what, spec);
  if (!first) return fail(first.error());
  if (dash == std::string_view::npos) return std::pair{*first, 1};
  auto last = parse_port(s.substr(dash + 1), what, spec);
  if (!last) return fail(last.error());
  if (*last < *first)
    return fail(Errc::invalid_argument, fmt::format("port mapping \"{}\": {} range {} ends before it starts", spec, what, s));
  return std::pair{*first, *last - *first + 1};
}

}  // namespace

Result<PortSpec> parse_port_spec(std::string_view text) {
  PortSpec p;
  std::string_view rest = text;
  if (auto slash = rest.rfind('/'); slash != std::string_view::npos) {
    p.protocol = std::string(rest.substr(slash + 1));
    rest = rest.substr(0, slash);
    if (p.protocol != "tcp" && p.protocol != "udp" && p.protocol != "sctp")
      return fail(Errc::invalid_argument,
                  fmt::format("port mapping \"{}\": protocol \"{}\" is not tcp, udp or sctp", text, p.protocol));
  }
  if (!rest.empty() && rest[0] == '[') {  // [IPv6]:HOST:CTR
    auto close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      return fail(Errc::invalid_argument, fmt::format("port mapping \"{}\": expected [IPv6]:HOSTPORT:CTRPORT", text));
    p.host_ip = std::string(rest.substr(1, close - 1));
    rest = rest.substr(close + 2);
  }
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    auto colon = rest.find(':', start);
    parts.push_back(rest.substr(start, colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (parts.size() == 3 && p.host_ip.empty()) {
    p.host_ip = std::string(parts[0]);
    parts.erase(parts.begin());
    if (p.host_ip.empty())
      return fail(Errc::invalid_argument, fmt::format("port mapping \"{}\": empty host address", text));
  }
  if (parts.empty() || parts.size() > 2)
    return fail(Errc::invalid_argument,
                fmt::format("port mapping \"{}\": expected [HOSTIP:]HOSTPORT:CTRPORT[/tcp|udp]", text));
  if (!p.host_ip.empty() && !is_ip(p.host_ip))
    return fail(Errc::invalid_argument, fmt::format("port mapping \"{}\": \"{}\" is not an IP address", text, p.host_ip));
  if (p.host_ip == "0.0.0.0" || p.host_ip == "::") p.host_ip.clear();
  auto host = parse_port_range(parts[0], "host port", text);
  if (!host) return fail(host.error());
  p.host_port = host->first;
  p.range = host->second;
  if (parts.size() == 2) {
    auto ctr = parse_port_range(parts[1], "container port", text);
    if (!ctr) return fail(ctr.error());
    p.container_port = ctr->first;
    if (ctr->second != 1 && ctr->second != p.range)
      return fail(Errc::invalid_argument,
                  fmt::format("port mapping \"{}\": the host and container ranges differ in length", text));
    if (p.container_port + p.range - 1 > 65535)
      return fail(Errc::invalid_argument, fmt::format("port mapping \"{}\": the container range passes 65535", text));
  } else {
    p.container_port = p.host_port;
  }
  return p;
}

std::string format_port_spec(const PortSpec& p) {
  std::string ip = p.host_ip.find(':') != std::string::npos ? "[" + p.host_ip + "]" : p.host_ip;
  if (p.range > 1)
    return fmt::format("{}{}-{}:{}-{}/{}", ip.empty() ? "" : ip + ":", p.host_port, p.host_port + p.range - 1,
                       p.container_port, p.container_port + p.range - 1, p.protocol);
  return fmt::format("{}{}:{}/{}", ip.empty() ? "" : ip + ":", p.host_port, p.container_port, p.protocol);
}

Result<std::pair<std::string, std::string>> parse_sysctl(std::string_view text) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return fail(Errc::invalid_argument, fmt::format("sysctl \"{}\": expected KEY=VALUE", text));
  std::string key(text.substr(0, eq)), value(text.substr(eq + 1));
  // Only net.* sysctls belong to a network namespace; anything else would change the host.
  if (key.rfind("net.", 0) != 0)
    return fail(Errc::invalid_argument,
                fmt::format("sysctl \"{}\": only net.* sysctls are per network namespace", key));
  for (unsigned char c : key) {
    if (!std::isalnum(c) && c != '.' && c != '_' && c != '-' && c != '/')
      return fail(Errc::invalid_argument, fmt::format("sysctl \"{}\": invalid character in key", key));
  }
  if (key.find("..") != std::string::npos || key.back() == '.')
    return fail(Errc::invalid_argument, fmt::format("sysctl \"{}\": invalid key", key));
  if (value.find('\n') != std::string::npos)
    return fail(Errc::invalid_argument, fmt::format("sysctl \"{}\": value contains a newline", key));
  return std::pair{key, value};
}

Status validate(CreateOptions& o, std::string_view default_network) {
  if (auto s = validate_name(o.name); !s) return fail_with(s, "pod");
  if (o.networks.empty() && o.rootless_net.empty()) {
    // A user's pod (inside the rootless session) cannot have a bridge: as podman 5, it gets pasta.
    if (rootless::root_on_host())
      o.networks.emplace_back(default_network);
    else
      o.rootless_net = "pasta";
  }
  if (!o.rootless_net.empty() && !o.networks.empty())
    return fail(Errc::invalid_argument, "--rootless-net and --network cannot be combined");
  for (size_t i = 0; i < o.networks.size(); ++i) {
    if (auto s = validate_name(o.networks[i]); !s) return fail_with(s, "network");
    for (size_t j = 0; j < i; ++j) {
      if (o.networks[i] == o.networks[j])
        return fail(Errc::invalid_argument, fmt::format("network {} is named twice", o.networks[i]));
    }
  }
  if (!o.rootless_net.empty() && o.rootless_net != "slirp4netns" && o.rootless_net != "pasta")
    return fail(Errc::invalid_argument,
                fmt::format("--rootless-net \"{}\": expected slirp4netns or pasta", o.rootless_net));
  for (size_t i = 0; i < o.ports.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      const auto &a = o.ports[i], &b = o.ports[j];
      if (a.protocol == b.protocol && a.host_port <= b.host_port + b.range - 1 &&
          b.host_port <= a.host_port + a.range - 1 &&
          (a.host_ip.empty() || b.host_ip.empty() || a.host_ip == b.host_ip))
        return fail(Errc::invalid_argument,
                    fmt::format("host port {}/{} is published twice", a.host_port, a.protocol));
    }
  }
  if (!o.ip.empty() && !is_ip(o.ip))
    return fail(Errc::invalid_argument, fmt::format("--ip \"{}\" is not an IP address", o.ip));
  if (!o.mac.empty() && !is_mac(o.mac))
    return fail(Errc::invalid_argument,
                fmt::format("--mac \"{}\" is not a unicast MAC address (xx:xx:xx:xx:xx:xx)", o.mac));
  if ((!o.ip.empty() || !o.mac.empty()) && o.networks.empty())
    return fail(Errc::invalid_argument, "--ip and --mac need a CNI network");
  for (auto& [k, v] : o.sysctls) {
    if (auto r = parse_sysctl(k + "=" + v); !r) return fail(r.error());
  }
  if (!o.userns.empty() && o.userns != "auto" && o.userns.find(':') == std::string::npos)
    return fail(Errc::invalid_argument,
                fmt::format("--userns \"{}\": expected auto or CONTAINER:HOST:SIZE[,...]", o.userns));
  return {};
}

nlohmann::json to_json(const CreateOptions& o) {
  nlohmann::json ports = nlohmann::json::array();
  for (auto& p : o.ports) ports.push_back(format_port_spec(p));
  nlohmann::json sysctls = nlohmann::json::object();
  for (auto& [k, v] : o.sysctls) sysctls[k] = v;
  return {{"name", o.name},   {"networks", o.networks}, {"ports", ports},        {"ip", o.ip},
          {"mac", o.mac},     {"sysctls", sysctls},     {"userns", o.userns},    {"rootlessNet", o.rootless_net}};
}

Result<CreateOptions> create_options_from_json(std::string_view text) {
  auto parsed = parse_json(text);
  if (!parsed) return fail_with(parsed, "pod spec");
  const nlohmann::json& j = *parsed;
  try {
    CreateOptions o;
    o.name = j.value("name", "");
    o.networks = j.value("networks", std::vector<std::string>{});
    for (auto& p : j.value("ports", std::vector<std::string>{})) {
      auto ps = parse_port_spec(p);
      if (!ps) return fail(ps.error());
      o.ports.push_back(*ps);
    }
    o.ip = j.value("ip", "");
    o.mac = j.value("mac", "");
    // Named, not iterated as j.value(...).items(): a range-for keeps only the last temporary of
    // its range alive (until C++23), and the object value() returned was gone before the loop.
    const auto sysctls = j.value("sysctls", nlohmann::json::object());
    for (auto& [k, v] : sysctls.items()) o.sysctls.emplace_back(k, v.get<std::string>());
    o.userns = j.value("userns", "");
    o.rootless_net = j.value("rootlessNet", "");
    return o;
  } catch (const nlohmann::json::exception& e) {
    return fail(Errc::corrupt, fmt::format("pod spec: {}", e.what()));
  }
}

}  // namespace podns::pod
