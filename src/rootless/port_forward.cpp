// Driver names, the -p port syntax, and the stored form of a helper record.
#include <arpa/inet.h>
#include <unistd.h>

#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "podns/rootless/driver.hpp"
#include "podns/idmap.hpp"
#include "podns/json_dump.hpp"
#include "podns/json_parse.hpp"
#include "podns/parse_int.hpp"
#include "podns/read_file.hpp"
#include "podns/json_integer.hpp"

namespace podns::rootless {
namespace {

Result<uint16_t> parse_port(std::string_view s, std::string_view spec, std::string_view which) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || value == 0 || value > 65535)
    return fail(Errc::invalid_argument,
                fmt::format("port forward \"{}\": {} port \"{}\" is not a number in 1-65535", spec, which, s));
  return static_cast<uint16_t>(value);
}

}  // namespace

std::string_view driver_name(DriverKind kind) {
  return kind == DriverKind::pasta ? "pasta" : "slirp4netns";
}

std::string_view driver_package(DriverKind kind) {
  return kind == DriverKind::pasta ? "passt" : "slirp4netns";
}

Result<DriverKind> parse_driver(std::string_view name) {
  if (name == "slirp4netns") return DriverKind::slirp4netns;
  if (name == "pasta") return DriverKind::pasta;
  return fail(Errc::invalid_argument,
              fmt::format("rootless network driver \"{}\": expected slirp4netns or pasta", name));
}

std::string_view proto_name(Proto p) { return p == Proto::udp ? "udp" : "tcp"; }

Result<PortForward> parse_port_forward(std::string_view spec) {
  PortForward f;
  std::string_view rest = spec;
  if (auto slash = rest.rfind('/'); slash != std::string_view::npos) {
    std::string_view proto = rest.substr(slash + 1);
    if (proto == "tcp") f.proto = Proto::tcp;
    else if (proto == "udp") f.proto = Proto::udp;
    else
      return fail(Errc::invalid_argument,
                  fmt::format("port forward \"{}\": protocol \"{}\" (expected tcp or udp)", spec, proto));
    rest = rest.substr(0, slash);
  }
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t colon = rest.find(':', start);
    parts.push_back(rest.substr(start, colon == std::string_view::npos ? colon : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (parts.size() > 3)
    return fail(Errc::invalid_argument,
                fmt::format("port forward \"{}\": expected [IP:]HOSTPORT[:CTRPORT][/tcp|udp]", spec));
  if (parts.size() == 3) {
    std::string ip(parts[0]);
    in_addr addr;
    if (inet_pton(AF_INET, ip.c_str(), &addr) != 1)
      return fail(Errc::invalid_argument,
                  fmt::format("port forward \"{}\": host address \"{}\" is not an IPv4 address", spec, ip));
    f.host_ip = ip == "0.0.0.0" ? "" : ip;
    parts.erase(parts.begin());
  }
  auto host = parse_port(parts[0], spec, "host");
  if (!host) return std::unexpected(host.error());
  f.host_port = *host;
  if (parts.size() == 2) {
    auto ctr = parse_port(parts[1], spec, "container");
    if (!ctr) return std::unexpected(ctr.error());
    f.container_port = *ctr;
  } else {
    f.container_port = f.host_port;
  }
  return f;
}

std::string format_port_forward(const PortForward& f) {
  std::string ip = f.host_ip.empty() ? "" : f.host_ip + ":";
  return fmt::format("{}{}:{}/{}", ip, f.host_port, f.container_port, proto_name(f.proto));
}

bool root_on_host() {
  if (geteuid() != 0) return false;
  auto text = read_regular_file("/proc/self/uid_map", 64 * 1024, Errc::corrupt);
  if (!text) return false;
  auto map = parse_kernel_idmap(*text);
  return map && map->size() == 1 && (*map)[0] == IdMapRange{0, 0, UINT32_MAX};
}

Status check_host_port_allowed(const PortForward& f) {
  if (root_on_host()) return {};
  unsigned start = 1024;
  if (auto text = read_regular_file("/proc/sys/net/ipv4/ip_unprivileged_port_start", 64, Errc::corrupt))
    if (auto n = parse_int<unsigned>(trim_blanks(*text))) start = *n;
  if (f.host_port < start)
    return fail(Errc::invalid_argument,
                fmt::format("port forward {}: host port {} is privileged (below "
                            "net.ipv4.ip_unprivileged_port_start={}); use a port >= {} as a non-root user",
                            format_port_forward(f), f.host_port, start, start));
  return {};
}

void to_json(nlohmann::json& j, const RootlessNetRecord& r) {
  nlohmann::json forwards = nlohmann::json::array();
  for (auto& f : r.forwards) {
    nlohmann::json e = {{"host_ip", f.host_ip},
                        {"host_port", f.host_port},
                        {"container_port", f.container_port},
                        {"protocol", proto_name(f.proto)}};
    if (f.id >= 0) e["id"] = f.id;
    forwards.push_back(std::move(e));
  }
  j = {{"driver", driver_name(r.kind)},
       {"pid", r.pid},
       {"start_time", r.start_time},
       {"api_socket", r.api_socket},
       {"log_path", r.log_path},
       {"pid_file", r.pid_file},
       {"netns_path", r.netns_path},
       {"allow_host_loopback", r.allow_host_loopback},
       {"forwards", std::move(forwards)}};
}

void from_json(const nlohmann::json& j, RootlessNetRecord& r) {
  auto kind = parse_driver(j.at("driver").get<std::string>());
  if (!kind) throw nlohmann::json::other_error::create(501, kind.error().what(), &j);
  r.kind = *kind;
  r.pid = json_integer_at<pid_t>(j, "pid");
  r.start_time = json_integer_at<uint64_t>(j, "start_time");
  r.api_socket = j.value("api_socket", "");
  r.log_path = j.value("log_path", "");
  r.pid_file = j.value("pid_file", "");
  r.netns_path = j.value("netns_path", "");
  r.allow_host_loopback = j.value("allow_host_loopback", false);
  r.forwards.clear();
  for (auto& e : j.value("forwards", nlohmann::json::array())) {
    PortForward f;
    f.host_ip = e.value("host_ip", "");
    f.host_port = json_integer_at<uint16_t>(e, "host_port");
    f.container_port = json_integer_at<uint16_t>(e, "container_port");
    f.proto = e.value("protocol", "tcp") == "udp" ? Proto::udp : Proto::tcp;
    f.id = e.contains("id") ? json_integer_at<int>(e, "id") : -1;
    r.forwards.push_back(std::move(f));
  }
}

std::string record_to_json(const RootlessNetRecord& r) {
  nlohmann::json j = r;
  return json_dump(j);
}

Result<RootlessNetRecord> record_from_json(std::string_view text) {
  auto j = parse_json(text);
  if (!j) return fail_with(j, "rootless network record");
  try {
    return j->get<RootlessNetRecord>();
  } catch (const nlohmann::json::exception& e) {
    return fail(Errc::corrupt, fmt::format("rootless network record: {}", e.what()));
  }
}

}  // namespace podns::rootless
