#include "state/summary.hpp"

#include <nlohmann/json.hpp>

#include "podns/json_parse.hpp"

namespace podns::state {

AttachmentSummary summarize_cni_result(const std::string& result, const std::string& ifname) {
  AttachmentSummary out;
  auto parsed = parse_json(result);
  if (!parsed || !parsed->is_object()) return out;
  const nlohmann::json& r = *parsed;
  // nlohmann's value() throws on a type mismatch; the library API never throws.
  auto str = [](const nlohmann::json& o, const char* key) -> std::string {
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::optional<int64_t> index;
  if (auto it = r.find("interfaces"); it != r.end() && it->is_array()) {
    for (size_t i = 0; i < it->size(); ++i) {
      const auto& itf = (*it)[i];
      // The host side of a veth has the same name in some plugins' results: only the interface
      // with a sandbox is the pod's.
      if (itf.is_object() && str(itf, "name") == ifname && !str(itf, "sandbox").empty()) {
        index = static_cast<int64_t>(i);
        out.mac = str(itf, "mac");
      }
    }
  }
  if (auto it = r.find("ips"); it != r.end() && it->is_array()) {
    for (const auto& ip : *it) {
      if (!ip.is_object()) continue;
      auto itf = ip.find("interface");
      if (index && itf != ip.end() && itf->is_number_integer() && itf->get<int64_t>() != *index) continue;
      std::string address = str(ip, "address");
      if (address.empty()) continue;
      out.addresses.push_back({address, str(ip, "gateway")});
    }
  }
  return out;
}

}  // namespace podns::state
