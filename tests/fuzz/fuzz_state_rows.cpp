// Fuzz what podns reads back from its own state rows, where a row may have been written by an older
// podns, a crashed one, or edited by hand: the attachment summary taken out of a stored CNI result,
// a pod's id_mappings column, and a rootless helper's record.
// Invariants: the summary of a result equals the summary of the canonical result built from it;
// id mappings and helper records that read back write out and read back equal.
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_check.hpp"
#include "pod/userns_map.hpp"
#include "podns/json_dump.hpp"
#include "podns/rootless/driver.hpp"
#include "state/summary.hpp"

namespace {

using nlohmann::json;

void check_summary(const std::string& result) {
  auto s = podns::state::summarize_cni_result(result, "eth0");
  // The one result that holds exactly this summary: the pod's interface and its addresses.
  json ips = json::array();
  for (const auto& a : s.addresses) {
    FUZZ_CHECK(!a.address.empty());
    ips.push_back({{"address", a.address}, {"gateway", a.gateway}, {"interface", 0}});
  }
  json canonical = {{"cniVersion", "1.1.0"},
                    {"interfaces", json::array({{{"name", "eth0"}, {"sandbox", "/run/netns/x"}, {"mac", s.mac}}})},
                    {"ips", std::move(ips)}};
  FUZZ_CHECK(podns::state::summarize_cni_result(podns::json_dump(canonical), "eth0") == s);
}

void check_id_mappings(const std::string& column) {
  auto m = podns::pod::detail::mappings_from_json(json::parse(column, nullptr, /*allow_exceptions=*/false));
  if (!m) {
    FUZZ_CHECK(m.error().is(podns::Errc::corrupt));
    return;
  }
  // Every id read is the number stored, not one wrapped or cut to 32 bits.
  const json j = json::parse(column);
  auto same_numbers = [&](const char* key, const podns::IdMap& map) {
    size_t i = 0;
    for (const auto& r : j.at(key)) {
      const auto& got = map.at(i++);
      FUZZ_CHECK(podns::fuzz::json_integer(r.at("containerID")) == got.container_id);
      FUZZ_CHECK(podns::fuzz::json_integer(r.at("hostID")) == got.host_id);
      FUZZ_CHECK(podns::fuzz::json_integer(r.at("size")) == got.size);
    }
    FUZZ_CHECK(i == map.size());
  };
  same_numbers("uidMappings", m->uid);
  same_numbers("gidMappings", m->gid);
  auto again = podns::pod::detail::mappings_from_json(podns::pod::detail::mappings_to_json(*m));
  FUZZ_CHECK(again && *again == *m);
}

void check_helper_record(const std::string& row) {
  auto r = podns::rootless::record_from_json(row);
  if (!r) {
    FUZZ_CHECK(r.error().is(podns::Errc::corrupt));
    return;
  }
  // The numbers are the ones stored (a pid cut to 32 bits would name another process).
  const json j = json::parse(row);
  FUZZ_CHECK(podns::fuzz::json_integer(j.at("pid")) == r->pid);
  FUZZ_CHECK(j.at("start_time").is_number_unsigned() && j.at("start_time").get<uint64_t>() == r->start_time);
  if (j.contains("forwards")) {
    size_t i = 0;
    for (const auto& e : j.at("forwards")) {
      const auto& f = r->forwards.at(i++);
      FUZZ_CHECK(podns::fuzz::json_integer(e.at("host_port")) == f.host_port);
      FUZZ_CHECK(podns::fuzz::json_integer(e.at("container_port")) == f.container_port);
      if (e.contains("id")) FUZZ_CHECK(podns::fuzz::json_integer(e.at("id")) == f.id);
    }
  }
  auto again = podns::rootless::record_from_json(podns::rootless::record_to_json(*r));
  FUZZ_CHECK(again);
  FUZZ_CHECK(again->kind == r->kind && again->pid == r->pid && again->start_time == r->start_time &&
             again->api_socket == r->api_socket && again->log_path == r->log_path &&
             again->pid_file == r->pid_file && again->netns_path == r->netns_path &&
             again->allow_host_loopback == r->allow_host_loopback && again->forwards.size() == r->forwards.size());
  for (size_t i = 0; i < r->forwards.size(); ++i)
    FUZZ_CHECK(again->forwards[i].same_as(r->forwards[i]) && again->forwards[i].id == r->forwards[i].id);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(podns::fuzz::as_text(data, size));
  check_summary(text);
  check_id_mappings(text);
  check_helper_record(text);
  return 0;
}
