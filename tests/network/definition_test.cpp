// Network definitions as the state stores them (NetworkRecord::options) and read back.
#include "podns/network/network.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace podns::network {
namespace {

state::NetworkRecord stored(const std::string& flags) {
  return {"backend", "bridge", "podns7",
          R"({"subnets":[{"subnet":"10.90.0.0/24","gateway":"10.90.0.1","rangeStart":"10.90.0.2",)"
          R"("rangeEnd":"10.90.0.254"}])" + flags + "}",
          1700000000};
}

TEST(StoredNetwork, RoundTrip) {
  auto n = Network::from_record(stored(R"(,"internal":true,"mtu":9000)"));
  ASSERT_OK(n);
  EXPECT_TRUE(n->internal);
  EXPECT_EQ(n->mtu, 9000u);
  ASSERT_EQ(n->ranges.size(), 1u);
  EXPECT_EQ(n->ranges[0].subnet.str(), "10.90.0.0/24");
  auto again = Network::from_record(n->record());
  ASSERT_OK(again);
  EXPECT_EQ(again->record(), n->record());
  // Both flags may be left out.
  auto plain = Network::from_record(stored(""));
  ASSERT_OK(plain);
  EXPECT_FALSE(plain->internal);
  EXPECT_EQ(plain->mtu, 0u);
}

// fuzz_network_definition failed on such rows (corpus/network_definition/internal_number.json,
// mtu_huge.json): a flag of the wrong type threw out of from_record (value() throws type_error,
// and nothing caught it), and an mtu of 1e300 was undefined behaviour.
TEST(StoredNetwork, FlagsOfTheWrongTypeAreCorrupt) {
  for (const char* flags : {R"(,"internal":1)", R"(,"internal":"yes")", R"(,"mtu":"1500")", R"(,"mtu":1e300)",
                            R"(,"mtu":-1)", R"(,"mtu":4294967296)", R"(,"mtu":1500.5)"}) {
    auto n = Network::from_record(stored(flags));
    ASSERT_FALSE(n) << flags;
    EXPECT_TRUE(n.error().is(Errc::corrupt)) << flags;
  }
}

}  // namespace
}  // namespace podns::network
