// parse_cni_args: CNI_ARGS as the CLI and podns-bridge both read it.
#include <gtest/gtest.h>

#include "podns/cni/runtime.hpp"
#include "test_support.hpp"

namespace podns::cni {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(CniArgs, PairsInOrderEmptyOnesSkippedValuesMayHoldEquals) {
  EXPECT_EQ(*parse_cni_args(""), Pairs{});
  EXPECT_EQ(*parse_cni_args("IgnoreUnknown=1;IP=10.0.0.5"), (Pairs{{"IgnoreUnknown", "1"}, {"IP", "10.0.0.5"}}));
  EXPECT_EQ(*parse_cni_args(";;K=;X=a=b;"), (Pairs{{"K", ""}, {"X", "a=b"}}));
}

TEST(CniArgs, APairWithoutKeyOrEqualsIsRefusedByName) {
  for (const char* bad : {"K", "=v", "A=1;broken;B=2"}) {
    auto r = parse_cni_args(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_TRUE(r.error().is(Errc::invalid_argument)) << bad;
    EXPECT_NE(r.error().message().find("is not KEY=VALUE"), std::string::npos) << r.error().message();
  }
}

}  // namespace
}  // namespace podns::cni
