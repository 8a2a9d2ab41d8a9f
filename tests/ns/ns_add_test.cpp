// add_namespaces, the library's `ns add`: with and without a user namespace, sysctls inside the
// new namespaces, and refusals that leave nothing pinned.
#include <unistd.h>

#include <filesystem>

#include "podns/namespace.hpp"
#include "podns/ns_add.hpp"
#include "podns/run_in_ns.hpp"
#include "podns/read_file.hpp"
#include "spawn_test_util.hpp"
#include "test_support.hpp"

namespace podns {
namespace {

class AddNamespaces : public test::PinnedNameTest {
 protected:
  bool nothing_pinned() const {
    auto pins = find_pins(paths_, name_);
    return pins && pins->empty();
  }
  static IdMappings maps() { return test::maps_of("0:1000000:65536"); }
};

TEST_F(AddNamespaces, NetByDefaultWithASysctlWrittenInside) {
  auto pins = add_namespaces({.paths = paths_, .name = name_, .sysctls = {{"net.ipv4.ip_forward", "1"}}});
  ASSERT_OK(pins);
  ASSERT_EQ(pins->size(), 1u);
  EXPECT_EQ((*pins)[0].type, NamespaceType::net);
  auto ns = Namespace::open_path((*pins)[0].path, NamespaceType::net);
  ASSERT_OK(ns);
  std::string value;
  ASSERT_OK(run_in_namespace(*ns, [&]() -> Status {
    auto v = read_regular_file("/proc/sys/net/ipv4/ip_forward", 16);
    if (!v) return fail(v.error());
    value = *v;
    return {};
  }));
  EXPECT_EQ(value, "1\n");
}

TEST_F(AddNamespaces, AUserNamespaceOwnsTheOthers) {
  auto pins = add_namespaces({.paths = paths_, .name = name_, .types = {NamespaceType::net, NamespaceType::user},
                              .idmaps = maps()});
  ASSERT_OK(pins);
  ASSERT_EQ(pins->size(), 2u);
  EXPECT_EQ((*pins)[0].type, NamespaceType::user);
  auto user = Namespace::open_path((*pins)[0].path, NamespaceType::user);
  auto net = Namespace::open_path((*pins)[1].path, NamespaceType::net);
  ASSERT_OK(user);
  ASSERT_OK(net);
  EXPECT_TRUE(*net->owner_userns() == *user);
}

TEST_F(AddNamespaces, RefusalsAndAFailingSysctlLeaveNothingPinned) {
  struct Case {
    AddRequest req;
    Errc code;
    const char* needle;
  };
  std::vector<Case> cases{
      {{.paths = paths_, .name = name_, .types = {NamespaceType::net}, .idmaps = maps()},
       Errc::invalid_argument, "id maps need a user namespace"},
      {{.paths = paths_, .name = name_, .types = {NamespaceType::user}}, Errc::invalid_argument, "needs id maps"},
      {{.paths = paths_, .name = "", .types = {NamespaceType::user}, .idmaps = maps()}, Errc::invalid_argument,
       "needs a name"},
  };
  for (const auto& c : cases) {
    auto r = add_namespaces(c.req);
    ASSERT_FALSE(r) << c.needle;
    EXPECT_TRUE(r.error().is(c.code)) << r.error().message();
    EXPECT_NE(r.error().message().find(c.needle), std::string::npos) << r.error().message();
    EXPECT_TRUE(nothing_pinned()) << c.needle;
  }
  auto bad = add_namespaces({.paths = paths_, .name = name_, .types = {NamespaceType::net, NamespaceType::uts},
                             .sysctls = {{"net.ipv4.no_such_sysctl", "1"}}});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("net.ipv4.no_such_sysctl"), std::string::npos) << bad.error().message();
  EXPECT_TRUE(nothing_pinned());
}

}  // namespace
}  // namespace podns
