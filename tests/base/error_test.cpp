#include <gtest/gtest.h>

#include "podns/error.hpp"

namespace podns {
namespace {

TEST(Error, MessageChainsContextOuterFirst) {
  Error e = Error::from_errno(EBUSY, "bind /proc/42/ns/net on /run/netns/web");
  e.context("pin netns web");
  EXPECT_EQ(e.message(), "pin netns web: bind /proc/42/ns/net on /run/netns/web: Device or resource busy");
  EXPECT_EQ(e.sys_errno(), EBUSY);
  EXPECT_TRUE(e.is(std::errc::device_or_resource_busy));
}

TEST(Error, PodnsCodesHaveTheirOwnMessages) {
  Error e(Errc::not_a_namespace, "open /etc/passwd");
  EXPECT_EQ(e.message(), "open /etc/passwd: not a namespace");
  EXPECT_TRUE(e.is(Errc::not_a_namespace));
  EXPECT_FALSE(e.is(Errc::wrong_namespace_type));
  EXPECT_EQ(e.sys_errno(), 0);
}

TEST(Error, FailWithAddsContextToAResult) {
  Result<int> inner = fail(Errc::not_found, "pod web");
  Result<int> outer = fail_with(inner, "inspect");
  ASSERT_FALSE(outer.has_value());
  EXPECT_EQ(outer.error().message(), "inspect: pod web: not found");
}

}  // namespace
}  // namespace podns
