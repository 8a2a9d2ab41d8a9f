// Fuzz the reading of slirp4netns API replies (the helper runs as the user, so its socket is not to
// be trusted to say anything well-formed). The first byte picks the request the reply answers.
// Invariants: a reply is a value or an error of the documented kinds; an accepted hostfwd id or
// entry holds exactly the numbers the reply sent (nothing truncated to fit), and entries written
// back in slirp4netns's form read back the same.
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_check.hpp"
#include "rootless/slirp_api.hpp"

namespace {

using nlohmann::json;
namespace detail = podns::rootless::detail;

void check_add(const json& ret) {
  auto id = detail::hostfwd_id_from(ret);
  if (!id) {
    FUZZ_CHECK(id.error().is(podns::Errc::corrupt));
    return;
  }
  FUZZ_CHECK(podns::fuzz::json_integer(ret["id"]) == *id);
}

void check_list(const json& ret) {
  auto fwds = detail::hostfwds_from(ret);
  if (!fwds) {
    FUZZ_CHECK(fwds.error().is(podns::Errc::corrupt));
    return;
  }
  const json& entries = ret["entries"];
  FUZZ_CHECK(entries.size() == fwds->size());
  json back = json::array();
  size_t i = 0;
  for (const auto& e : entries) {
    const auto& f = (*fwds)[i++];
    FUZZ_CHECK(podns::fuzz::json_integer(e["id"]) == f.id);
    FUZZ_CHECK(podns::fuzz::json_integer(e["host_port"]) == f.host_port);
    FUZZ_CHECK(podns::fuzz::json_integer(e["guest_port"]) == f.container_port);
    back.push_back({{"id", f.id},
                    {"proto", podns::rootless::proto_name(f.proto)},
                    {"host_addr", f.host_ip.empty() ? "0.0.0.0" : f.host_ip},
                    {"host_port", f.host_port},
                    {"guest_port", f.container_port}});
  }
  auto again = detail::hostfwds_from(json{{"entries", back}});
  FUZZ_CHECK(again && again->size() == fwds->size());
  for (size_t k = 0; k < fwds->size(); ++k)
    FUZZ_CHECK((*again)[k].same_as((*fwds)[k]) && (*again)[k].id == (*fwds)[k].id);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr std::string_view kOps[] = {"add_hostfwd", "list_hostfwd", "remove_hostfwd"};
  std::string_view op = kOps[data[0] % 3];
  std::string_view reply = podns::fuzz::as_text(data + 1, size - 1);
  auto ret = detail::parse_api_reply(op, reply);
  if (!ret) {
    FUZZ_CHECK(ret.error().is(podns::Errc::corrupt) || ret.error().is(podns::Errc::plugin_failed));
    return 0;
  }
  // Whatever the request, read the value both ways: a confused helper may answer anything.
  check_add(*ret);
  check_list(*ret);
  return 0;
}
