// Versioned CNI results: parse any supported result format into CniResult, emit any format from it.
#include "podns/cni/types.hpp"

#include <arpa/inet.h>

#include <array>
#include <charconv>

#include <fmt/format.h>

#include "podns/json_parse.hpp"

namespace podns::cni {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 5> kVersions = {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};

struct Semver {
  long parts[3] = {0, 0, 0};
};

std::optional<Semver> parse_semver(std::string_view v) {
  Semver s;
  for (int i = 0; i < 3; ++i) {
    auto dot = i < 2 ? v.find('.') : std::string_view::npos;
    if (i < 2 && dot == std::string_view::npos) return std::nullopt;
    std::string_view part = v.substr(0, dot);
    if (part.empty() || part.size() > 9) return std::nullopt;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), s.parts[i]);
    if (ec != std::errc() || end != part.data() + part.size()) return std::nullopt;
    v = dot == std::string_view::npos ? std::string_view{} : v.substr(dot + 1);
  }
  return s;
}

// "10.1.2.3/24" -> family (AF_INET/AF_INET6) or 0 when not a CIDR.
int cidr_family(std::string_view cidr) {
  auto slash = cidr.find('/');
  if (slash == std::string_view::npos || cidr.size() > 64) return 0;
  std::string ip(cidr.substr(0, slash));
  std::string_view len = cidr.substr(slash + 1);
  int bits = -1;
  auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), bits);
  if (len.empty() || ec != std::errc() || end != len.data() + len.size()) return 0;
  unsigned char buf[16];
  if (inet_pton(AF_INET, ip.c_str(), buf) == 1) return bits >= 0 && bits <= 32 ? AF_INET : 0;
  if (inet_pton(AF_INET6, ip.c_str(), buf) == 1) return bits >= 0 && bits <= 128 ? AF_INET6 : 0;
  return 0;
}

int ip_family(std::string_view ip) {
  if (ip.size() > 64) return 0;
  std::string s(ip);
  unsigned char buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) return AF_INET;
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) return AF_INET6;
  return 0;
}

// Field readers that turn a wrong type into an error naming the field instead of an exception.
Status get_string(const json& obj, const char* key, std::string& out, std::string_view where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_string()) return fail(Errc::corrupt, fmt::format("{}.{}: not a string", where, key));
  out = it->get<std::string>();
  return {};
}

Status get_int(const json& obj, const char* key, std::optional<int>& out, std::string_view where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_number_integer() || it->get<long long>() < INT32_MIN || it->get<long long>() > INT32_MAX)
    return fail(Errc::corrupt, fmt::format("{}.{}: not a 32-bit integer", where, key));
  out = static_cast<int>(it->get<long long>());
  return {};
}

Status get_strings(const json& obj, const char* key, std::vector<std::string>& out, std::string_view where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_array()) return fail(Errc::corrupt, fmt::format("{}.{}: not a list", where, key));
  for (auto& v : *it) {
    if (!v.is_string()) return fail(Errc::corrupt, fmt::format("{}.{}: not a list of strings", where, key));
    out.push_back(v.get<std::string>());
  }
  return {};
}

const json* get_array(const json& obj, const char* key, Status& st) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  if (!it->is_array()) st = fail(Errc::corrupt, fmt::format("result.{}: not a list", key));
  return it->is_array() ? &*it : nullptr;
}

#define PODNS_TRY(expr)              \
  do {                               \
    if (auto st_ = (expr); !st_) return std::unexpected(st_.error()); \
  } while (0)

bool is_110(std::string_view v) { return v == "1.1.0"; }
bool has_ip_version_field(std::string_view v) { return v.starts_with("0."); }

}  // namespace

std::span<const std::string_view> supported_versions() { return kVersions; }

nlohmann::json CniError::to_json(std::string_view version) const {
  json j = {{"cniVersion", std::string(version)}, {"code", code}, {"msg", msg}};
  if (!details.empty()) j["details"] = details;
  return j;
}

bool version_supported(std::string_view version) {
  for (auto v : kVersions)
    if (v == version) return true;
  return false;
}

Result<int> compare_versions(std::string_view a, std::string_view b) {
  auto va = parse_semver(a), vb = parse_semver(b);
  if (!va) return fail(Errc::invalid_argument, fmt::format("\"{}\" is not a version", a.substr(0, 32)));
  if (!vb) return fail(Errc::invalid_argument, fmt::format("\"{}\" is not a version", b.substr(0, 32)));
  for (int i = 0; i < 3; ++i)
    if (va->parts[i] != vb->parts[i]) return va->parts[i] < vb->parts[i] ? -1 : 1;
  return 0;
}

bool IpConfig::ipv6() const { return cidr_family(address) == AF_INET6; }

Result<CniResult> parse_result(const json& j, std::string_view default_version) {
  if (!j.is_object()) return fail(Errc::corrupt, "result: not a JSON object");
  CniResult r;
  PODNS_TRY(get_string(j, "cniVersion", r.cni_version, "result"));
  if (r.cni_version.empty()) r.cni_version = std::string(default_version);
  if (r.cni_version.empty()) return fail(Errc::corrupt, "result: no cniVersion");
  if (!version_supported(r.cni_version))
    return fail(Errc::unsupported, fmt::format("result version \"{}\" (podns reads 0.3.0 to 1.1.0)",
                                               r.cni_version.substr(0, 32)));
  Status st;
  if (const json* ifs = get_array(j, "interfaces", st)) {
    for (std::size_t i = 0; i < ifs->size(); ++i) {
      const json& o = (*ifs)[i];
      std::string where = fmt::format("result.interfaces[{}]", i);
      if (!o.is_object()) return fail(Errc::corrupt, where + ": not an object");
      Interface itf;
      PODNS_TRY(get_string(o, "name", itf.name, where));
      PODNS_TRY(get_string(o, "mac", itf.mac, where));
      PODNS_TRY(get_string(o, "sandbox", itf.sandbox, where));
      PODNS_TRY(get_int(o, "mtu", itf.mtu, where));
      PODNS_TRY(get_string(o, "socketPath", itf.socket_path, where));
      PODNS_TRY(get_string(o, "pciID", itf.pci_id, where));
      r.interfaces.push_back(std::move(itf));
    }
  }
  if (!st) return std::unexpected(st.error());
  if (const json* ips = get_array(j, "ips", st)) {
    for (std::size_t i = 0; i < ips->size(); ++i) {
      const json& o = (*ips)[i];
      std::string where = fmt::format("result.ips[{}]", i);
      if (!o.is_object()) return fail(Errc::corrupt, where + ": not an object");
      IpConfig ip;
      std::string version;
      PODNS_TRY(get_string(o, "address", ip.address, where));
      PODNS_TRY(get_string(o, "gateway", ip.gateway, where));
      PODNS_TRY(get_int(o, "interface", ip.interface, where));
      PODNS_TRY(get_string(o, "version", version, where));
      int fam = cidr_family(ip.address);
      if (!fam) return fail(Errc::corrupt, fmt::format("{}.address \"{}\": not an IP address in CIDR notation", where, ip.address.substr(0, 64)));
      if (!ip.gateway.empty() && ip_family(ip.gateway) != fam)
        return fail(Errc::corrupt, fmt::format("{}.gateway \"{}\": not an IP address of the address's family", where, ip.gateway.substr(0, 64)));
      if (!version.empty() && version != (fam == AF_INET ? "4" : "6"))
        return fail(Errc::corrupt, fmt::format("{}.version \"{}\" does not match address {}", where, version.substr(0, 8), ip.address));
      if (ip.interface && (*ip.interface < 0 || static_cast<std::size_t>(*ip.interface) >= r.interfaces.size()))
        return fail(Errc::corrupt, fmt::format("{}.interface {}: no such interface (the result has {})", where,
                                               *ip.interface, r.interfaces.size()));
      r.ips.push_back(std::move(ip));
    }
  }
  if (!st) return std::unexpected(st.error());
  if (const json* routes = get_array(j, "routes", st)) {
    for (std::size_t i = 0; i < routes->size(); ++i) {
      const json& o = (*routes)[i];
      std::string where = fmt::format("result.routes[{}]", i);
      if (!o.is_object()) return fail(Errc::corrupt, where + ": not an object");
      Route rt;
      PODNS_TRY(get_string(o, "dst", rt.dst, where));
      PODNS_TRY(get_string(o, "gw", rt.gw, where));
      PODNS_TRY(get_int(o, "mtu", rt.mtu, where));
      PODNS_TRY(get_int(o, "advmss", rt.advmss, where));
      PODNS_TRY(get_int(o, "priority", rt.priority, where));
      PODNS_TRY(get_int(o, "table", rt.table, where));
      PODNS_TRY(get_int(o, "scope", rt.scope, where));
      int fam = cidr_family(rt.dst);
      if (!fam) return fail(Errc::corrupt, fmt::format("{}.dst \"{}\": not a CIDR", where, rt.dst.substr(0, 64)));
      if (!rt.gw.empty() && ip_family(rt.gw) != fam)
        return fail(Errc::corrupt, fmt::format("{}.gw \"{}\": not an IP address of dst's family", where, rt.gw.substr(0, 64)));
      r.routes.push_back(std::move(rt));
    }
  }
  if (!st) return std::unexpected(st.error());
  if (auto it = j.find("dns"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return fail(Errc::corrupt, "result.dns: not an object");
    PODNS_TRY(get_strings(*it, "nameservers", r.dns.nameservers, "result.dns"));
    PODNS_TRY(get_string(*it, "domain", r.dns.domain, "result.dns"));
    PODNS_TRY(get_strings(*it, "search", r.dns.search, "result.dns"));
    PODNS_TRY(get_strings(*it, "options", r.dns.options, "result.dns"));
  }
  return r;
}

Result<CniResult> parse_result_text(std::string_view text, std::string_view default_version) {
  auto j = parse_json(text);
  if (!j) return fail_with(j, "parse result");
  return parse_result(*j, default_version);
}

Result<json> CniResult::to_json(std::string_view version) const {
  if (!version_supported(version))
    return fail(Errc::unsupported, fmt::format("result version \"{}\" (podns writes 0.3.0 to 1.1.0)", version.substr(0, 32)));
  const bool v110 = is_110(version);
  json j = json::object();
  j["cniVersion"] = std::string(version);
  if (!interfaces.empty()) {
    json arr = json::array();
    for (auto& i : interfaces) {
      json o = {{"name", i.name}};
      if (!i.mac.empty()) o["mac"] = i.mac;
      if (v110 && i.mtu) o["mtu"] = *i.mtu;
      if (!i.sandbox.empty()) o["sandbox"] = i.sandbox;
      if (v110 && !i.socket_path.empty()) o["socketPath"] = i.socket_path;
      if (v110 && !i.pci_id.empty()) o["pciID"] = i.pci_id;
      arr.push_back(std::move(o));
    }
    j["interfaces"] = std::move(arr);
  }
  if (!ips.empty()) {
    json arr = json::array();
    for (auto& ip : ips) {
      json o = json::object();
      // 0.3.x/0.4.0 results say which family an entry is; 1.0.0 dropped it.
      if (has_ip_version_field(version)) o["version"] = ip.ipv6() ? "6" : "4";
      if (ip.interface) o["interface"] = *ip.interface;
      o["address"] = ip.address;
      if (!ip.gateway.empty()) o["gateway"] = ip.gateway;
      arr.push_back(std::move(o));
    }
    j["ips"] = std::move(arr);
  }
  if (!routes.empty()) {
    json arr = json::array();
    for (auto& r : routes) {
      json o = {{"dst", r.dst}};
      if (!r.gw.empty()) o["gw"] = r.gw;
      if (v110) {
        if (r.mtu) o["mtu"] = *r.mtu;
        if (r.advmss) o["advmss"] = *r.advmss;
        if (r.priority) o["priority"] = *r.priority;
        if (r.table) o["table"] = *r.table;
        if (r.scope) o["scope"] = *r.scope;
      }
      arr.push_back(std::move(o));
    }
    j["routes"] = std::move(arr);
  }
  if (!dns.empty()) {
    json o = json::object();
    if (!dns.nameservers.empty()) o["nameservers"] = dns.nameservers;
    if (!dns.domain.empty()) o["domain"] = dns.domain;
    if (!dns.search.empty()) o["search"] = dns.search;
    if (!dns.options.empty()) o["options"] = dns.options;
    j["dns"] = std::move(o);
  }
  return j;
}

}  // namespace podns::cni
