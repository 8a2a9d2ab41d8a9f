// Fuzz what `podns pod create` is asked for: a pod spec as JSON (create_options_from_json, the
// library's way in), the -p port syntax of both drivers (native/CNI and rootless), and sysctls.
// Invariants: an accepted spec written back with to_json reads back equal; validation keeps its
// promises (valid names, the default network filled in); every accepted port or sysctl formats
// and parses back to the same thing.
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "podns/json_dump.hpp"
#include "podns/names.hpp"
#include "podns/pod/spec.hpp"
#include "podns/rootless/driver.hpp"

namespace {

namespace pod = podns::pod;

bool same(const pod::CreateOptions& a, const pod::CreateOptions& b) {
  return a.name == b.name && a.networks == b.networks && a.ports == b.ports && a.ip == b.ip && a.mac == b.mac &&
         a.sysctls == b.sysctls && a.userns == b.userns && a.rootless_net == b.rootless_net;
}

void check_port(const pod::PortSpec& p) {
  FUZZ_CHECK(p.host_port >= 1 && p.range >= 1 && p.host_port + p.range - 1 <= 65535);
  FUZZ_CHECK(p.container_port >= 1 && p.container_port + p.range - 1 <= 65535);
  FUZZ_CHECK(p.protocol == "tcp" || p.protocol == "udp" || p.protocol == "sctp");
  auto again = pod::parse_port_spec(pod::format_port_spec(p));
  FUZZ_CHECK(again && *again == p);
}

void check_spec(std::string_view text) {
  auto o = pod::create_options_from_json(text);
  if (!o) return;
  for (const auto& p : o->ports) check_port(p);
  auto again = pod::create_options_from_json(podns::json_dump(pod::to_json(*o)));
  FUZZ_CHECK(again && same(*again, *o));

  auto v = *o;
  if (!pod::validate(v, "podns")) return;
  FUZZ_CHECK(podns::validate_name(v.name));
  FUZZ_CHECK(!v.networks.empty() || v.rootless_net == "slirp4netns" || v.rootless_net == "pasta");
  for (const auto& n : v.networks) FUZZ_CHECK(podns::validate_name(n));
  for (const auto& [k, val] : v.sysctls) FUZZ_CHECK(pod::parse_sysctl(k + "=" + val));
  // What validation accepted stays accepted once stored and read back.
  auto stored = pod::create_options_from_json(podns::json_dump(pod::to_json(v)));
  FUZZ_CHECK(stored && same(*stored, v));
  FUZZ_CHECK(pod::validate(*stored, "podns"));
}

void check_flags(std::string_view text) {
  if (auto p = pod::parse_port_spec(text)) check_port(*p);
  if (auto f = podns::rootless::parse_port_forward(text)) {
    FUZZ_CHECK(f->host_port >= 1 && f->container_port >= 1);
    auto again = podns::rootless::parse_port_forward(podns::rootless::format_port_forward(*f));
    FUZZ_CHECK(again && again->same_as(*f));
  }
  if (auto s = pod::parse_sysctl(text)) {
    FUZZ_CHECK(s->first.rfind("net.", 0) == 0 && s->second.find('\n') == std::string::npos);
    auto again = pod::parse_sysctl(s->first + "=" + s->second);
    FUZZ_CHECK(again && *again == *s);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = podns::fuzz::as_text(data, size);
  check_spec(text);
  check_flags(text);
  return 0;
}
