#include <sched.h>

#include <set>

#include "podns/namespace_type.hpp"
#include "test_support.hpp"

namespace podns {

TEST(NamespaceType, TableCoversAllEightOnce) {
  auto all = all_namespaces();
  ASSERT_EQ(all.size(), 8u);
  std::set<NamespaceType> types;
  std::set<int> flags;
  for (const auto& info : all) {
    types.insert(info.type);
    flags.insert(info.clone_flag);
    EXPECT_EQ(&namespace_info(info.type), &info);
  }
  EXPECT_EQ(types.size(), 8u);
  EXPECT_EQ(flags.size(), 8u);
}

TEST(NamespaceType, UserJoinsFirst) { EXPECT_EQ(all_namespaces().front().type, NamespaceType::user); }

TEST(NamespaceType, EntriesAndFlags) {
  EXPECT_EQ(namespace_info(NamespaceType::net).proc_entry, "net");
  EXPECT_EQ(namespace_info(NamespaceType::net).pin_entry, "net");
  EXPECT_EQ(namespace_info(NamespaceType::net).oci_name, "network");
  EXPECT_EQ(namespace_info(NamespaceType::net).clone_flag, CLONE_NEWNET);
  EXPECT_EQ(namespace_info(NamespaceType::mnt).oci_name, "mount");
  EXPECT_EQ(namespace_info(NamespaceType::mnt).clone_flag, CLONE_NEWNS);
  EXPECT_EQ(namespace_info(NamespaceType::pid).pin_entry, "pid_for_children");
  EXPECT_EQ(namespace_info(NamespaceType::time).pin_entry, "time_for_children");
  EXPECT_EQ(namespace_info(NamespaceType::time).clone_flag, 0x80);
  EXPECT_EQ(namespace_info(NamespaceType::cgroup).clone_flag, CLONE_NEWCGROUP);
}

TEST(NamespaceType, ParsesPodnsAndOciNames) {
  for (const auto& info : all_namespaces()) {
    auto a = parse_namespace_type(info.name);
    ASSERT_OK(a);
    EXPECT_EQ(*a, info.type);
    auto b = parse_namespace_type(info.oci_name);
    ASSERT_OK(b);
    EXPECT_EQ(*b, info.type);
  }
}

TEST(NamespaceType, RejectsUnknownNames) {
  for (const char* bad : {"", "netns", "NET", "mount ", "pid_for_children"}) {
    auto r = parse_namespace_type(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_TRUE(r.error().is(Errc::invalid_argument));
    EXPECT_NE(r.error().message().find("one of user, pid"), std::string::npos) << r.error().message();
  }
}

TEST(NamespaceType, FromCloneFlag) {
  for (const auto& info : all_namespaces()) {
    auto t = namespace_type_from_clone_flag(info.clone_flag);
    ASSERT_OK(t);
    EXPECT_EQ(*t, info.type);
  }
  EXPECT_FALSE(namespace_type_from_clone_flag(0x1));
}

}  // namespace podns
