// CNI result types, version-neutral, with conversion to and from every result format podns speaks:
// 0.3.0, 0.3.1, 0.4.0 (ips carry "version": "4"|"6"), 1.0.0 (no "version") and 1.1.0 (interfaces
// gain mtu/socketPath/pciID, routes gain mtu/advmss/priority/table/scope). A result is parsed
// according to its own "cniVersion" and emitted in whatever version the caller asks for, which is
// how a chain of plugins speaking different versions and a cache written by libcni fit together.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "podns/error.hpp"

namespace podns::cni {

// The newest CNI specification version podns implements.
inline constexpr std::string_view kSpecVersion = "1.1.0";

// The result/config versions podns handles, oldest first (0.1.0/0.2.0 predate chaining and are
// refused with a clear error).
std::span<const std::string_view> supported_versions();
bool version_supported(std::string_view version);

// Semantic-version comparison of "X.Y.Z" strings: <0, 0, >0. Errc::invalid_argument when either
// is not a version.
[[nodiscard]] Result<int> compare_versions(std::string_view a, std::string_view b);

struct Interface {
  std::string name;
  std::string mac;
  std::string sandbox;       // netns path for interfaces inside the container, empty on the host
  std::optional<int> mtu;    // 1.1.0
  std::string socket_path;   // 1.1.0
  std::string pci_id;        // 1.1.0
  bool operator==(const Interface&) const = default;
};

struct IpConfig {
  std::string address;             // CIDR, "10.88.0.5/16"
  std::string gateway;             // may be empty
  std::optional<int> interface;    // index into CniResult::interfaces
  bool ipv6() const;
  bool operator==(const IpConfig&) const = default;
};

struct Route {
  std::string dst;  // CIDR
  std::string gw;   // may be empty
  std::optional<int> mtu, advmss, priority, table, scope;  // 1.1.0
  bool operator==(const Route&) const = default;
};

struct Dns {
  std::vector<std::string> nameservers;
  std::string domain;
  std::vector<std::string> search;
  std::vector<std::string> options;
  bool empty() const { return nameservers.empty() && domain.empty() && search.empty() && options.empty(); }
  bool operator==(const Dns&) const = default;
};

struct CniResult {
  std::string cni_version;  // the version it was parsed from (or converted to)
  std::vector<Interface> interfaces;
  std::vector<IpConfig> ips;
  std::vector<Route> routes;
  Dns dns;

  // The result in `version`'s format, with "cniVersion": version. Fields the target version lacks
  // are dropped (1.1.0 route metrics going to 1.0.0); Errc::unsupported for versions podns lacks.
  [[nodiscard]] Result<nlohmann::json> to_json(std::string_view version) const;
  // In its own cni_version.
  [[nodiscard]] Result<nlohmann::json> to_json() const { return to_json(cni_version); }
  bool operator==(const CniResult&) const = default;
};

// Parse a result object. Its "cniVersion" decides the format; `default_version` is used when it has
// none. Addresses must be valid CIDRs, gateways valid IPs of the same family, interface indexes
// inside the interfaces list: anything else is Errc::corrupt naming the field.
[[nodiscard]] Result<CniResult> parse_result(const nlohmann::json& j, std::string_view default_version = {});
// Same from text (size- and nesting-limited: parse_json, podns/json_parse.hpp).
[[nodiscard]] Result<CniResult> parse_result_text(std::string_view text, std::string_view default_version = {});

// The spec's well-known error codes (CNI SPEC "Error"): 1-99 are the spec's, 100 and up a plugin's.
namespace err {
inline constexpr int kIncompatibleVersion = 1;
inline constexpr int kUnsupportedField = 2;
inline constexpr int kUnknownContainer = 3;
inline constexpr int kInvalidEnvironment = 4;
inline constexpr int kIoFailure = 5;
inline constexpr int kDecodeFailure = 6;
inline constexpr int kInvalidConfig = 7;
inline constexpr int kTryAgainLater = 11;
inline constexpr int kNotAvailable = 50;          // STATUS: ADD cannot be served
inline constexpr int kLimitedConnectivity = 51;  // STATUS: and existing containers may suffer
inline constexpr int kInternal = 999;             // what libcni's plugins answer for everything else
}  // namespace err

// The error object a plugin prints on stdout when it fails (and exits non-zero).
struct CniError {
  int code = err::kInternal;
  std::string msg;
  std::string details;
  // {"cniVersion": version, "code", "msg"[, "details"]}.
  nlohmann::json to_json(std::string_view version) const;
};

}  // namespace podns::cni
