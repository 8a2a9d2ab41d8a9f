// A pod spec as JSON (create_options_from_json, the library's way in) and back (to_json).
#include <gtest/gtest.h>

#include "podns/json_dump.hpp"
#include "podns/pod/spec.hpp"
#include "test_support.hpp"

namespace podns::pod {
namespace {

// Found by fuzz_pod_spec: the sysctls were iterated out of a temporary that was already destroyed
// (a range-for keeps only the last temporary of its range alive); ASan saw a use after scope on
// every spec with a sysctl.
TEST(PodSpec, SysctlsReadBackFromJson) {
  auto o = create_options_from_json(
      R"({"name":"web","networks":["podns"],"ports":["8080:80/tcp"],
          "sysctls":{"net.ipv4.ip_forward":"1","net.core.somaxconn":"1024"}})");
  ASSERT_OK(o);
  using Sysctl = std::pair<std::string, std::string>;
  EXPECT_EQ(o->sysctls, (std::vector<Sysctl>{{"net.core.somaxconn", "1024"}, {"net.ipv4.ip_forward", "1"}}));
  auto again = create_options_from_json(json_dump(to_json(*o)));
  ASSERT_OK(again);
  EXPECT_EQ(again->sysctls, o->sysctls);
  EXPECT_EQ(again->ports, o->ports);
}

TEST(PodSpec, MalformedJsonIsAnErrorNotAnException) {
  for (const char* bad : {"", "[]", "{\"name\":1}", "{\"sysctls\":{\"net.x\":1}}", "{\"ports\":[\"x\"]}",
                          "{\"networks\":\"podns\"}"}) {
    auto o = create_options_from_json(bad);
    EXPECT_FALSE(o) << bad;
  }
}

}  // namespace
}  // namespace podns::pod
