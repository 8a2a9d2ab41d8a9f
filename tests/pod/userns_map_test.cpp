// A pod's id mappings as the state keeps them (the id_mappings column) and read back.
#include <gtest/gtest.h>

#include "pod/userns_map.hpp"
#include "test_support.hpp"

namespace podns::pod::detail {
namespace {

TEST(StoredIdMappings, RoundTrip) {
  IdMappings m{{{0, 100000, 65536}}, {{0, 100000, 1000}, {1000, 1000, 1}}, SetGroups::allow};
  auto back = mappings_from_json(mappings_to_json(m));
  ASSERT_OK(back);
  EXPECT_EQ(*back, m);
}

// fuzz_state_rows failed on such rows (corpus/state_rows/id_mappings_numbers.json): ids were
// converted to 32 bits whatever they were (-1 became 4294967295, 2^32 became 0), and a float out
// of range was undefined behaviour.
TEST(StoredIdMappings, NumbersThatDoNotFitAreCorrupt) {
  for (const char* uid : {R"({"containerID":-1,"hostID":100000,"size":65536})",
                          R"({"containerID":0,"hostID":4294967296,"size":65536})",
                          R"({"containerID":0,"hostID":100000,"size":1e300})",
                          R"({"containerID":0,"hostID":100000.5,"size":1})",
                          R"({"containerID":0,"hostID":"100000","size":1})"}) {
    auto text = std::string(R"({"uidMappings":[)") + uid + R"(],"gidMappings":[]})";
    auto m = mappings_from_json(nlohmann::json::parse(text));
    ASSERT_FALSE(m) << text;
    EXPECT_TRUE(m.error().is(Errc::corrupt)) << text;
  }
}

}  // namespace
}  // namespace podns::pod::detail
