#include <gtest/gtest.h>

#include <regex>

#include "podns/names.hpp"

namespace podns {
namespace {

TEST(Names, AcceptsTheCniContainerIdAlphabet) {
  EXPECT_TRUE(validate_name("web"));
  EXPECT_TRUE(validate_name("a.b_c-1"));
  EXPECT_TRUE(validate_name(std::string(64, 'x')));
}

TEST(Names, RejectsEachBadShapeWithAReason) {
  struct Case { std::string name, reason; };
  for (const Case& c : std::vector<Case>{{"", "empty"}, {".", "must start"}, {"..", "must start"},
                                         {"a/b", "contains '/'"}, {std::string(65, 'x'), "longer than 64"},
                                         {"a\tb", "non-printable"}, {"-a", "must start"}, {"a b", "contains ' '"}}) {
    auto r = validate_name(c.name);
    ASSERT_FALSE(r) << c.name;
    EXPECT_TRUE(r.error().is(Errc::invalid_name));
    EXPECT_NE(r.error().message().find(c.reason), std::string::npos) << r.error().message();
  }
}

TEST(Names, IfnameRules) {
  EXPECT_TRUE(validate_ifname("eth0"));
  EXPECT_TRUE(validate_ifname(std::string(15, 'e')));
  EXPECT_FALSE(validate_ifname(std::string(16, 'e')));
  EXPECT_FALSE(validate_ifname(""));
  EXPECT_FALSE(validate_ifname(".."));
  EXPECT_FALSE(validate_ifname("a:b"));
  EXPECT_FALSE(validate_ifname("a b"));
}

TEST(Names, RandomPinNameLooksLikeCnis) {
  std::string a = random_pin_name(), b = random_pin_name();
  EXPECT_TRUE(std::regex_match(a, std::regex("cni-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"))) << a;
  EXPECT_NE(a, b);
  EXPECT_TRUE(validate_name(a));
}

}  // namespace
}  // namespace podns
