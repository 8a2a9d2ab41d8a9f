#include <fcntl.h>
#include <sched.h>

#include "sys/netnsid.hpp"
#include "sys/nsfs.hpp"
#include "test_support.hpp"

namespace podns::sys {

TEST(Nsfs, MagicAndType) {
  UniqueFd ns(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(ns);
  auto magic = fs_magic(ns.view());
  ASSERT_OK(magic);
  EXPECT_EQ(*magic, kNsfsMagic);
  auto type = ns_get_type(ns.view());
  ASSERT_OK(type);
  EXPECT_EQ(*type, CLONE_NEWNET);
  UniqueFd proc(::open("/proc/self/status", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(proc);
  auto pmagic = fs_magic(proc.view());
  ASSERT_OK(pmagic);
  EXPECT_EQ(*pmagic, kProcfsMagic);
  auto notype = ns_get_type(proc.view());
  ASSERT_FALSE(notype);
}

TEST(Nsfs, UsernsFdIsCloexec) {
  UniqueFd ns(::open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC));
  auto user = ns_get_userns(ns.view());
  ASSERT_OK(user);
  EXPECT_TRUE(::fcntl(user->get(), F_GETFD) & FD_CLOEXEC);
  auto type = ns_get_type(user->view());
  ASSERT_OK(type);
  EXPECT_EQ(*type, CLONE_NEWUSER);
}

TEST(NetnsId, OwnNetnsHasNoPeerId) {
  PODNS_REQUIRE_ROOT();
  // A fresh netns, reached by an fd from a thread-less child... simplest: our own netns, which
  // the kernel reports as "not assigned" (or, if assigned by someone, a non-negative id).
  UniqueFd ns(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
  auto id = netns_get_nsid(ns.view());
  ASSERT_OK(id);
  if (id->has_value()) {
    EXPECT_GE(**id, 0);
  }
}

TEST(NetnsId, NotANetnsFdIsAnError) {
  UniqueFd ns(::open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC));
  auto id = netns_get_nsid(ns.view());
  ASSERT_FALSE(id);
}

}  // namespace podns::sys
