// remove_pin against EBUSY from umount, which the kernel gives for a lazy unmount only in races a
// test cannot arrange: injected at the sys.umount fault point (src/sys/fault.hpp). A short busy
// spell is retried away; a lasting one is a clear error that keeps the pin, and a later remove
// works.
#include <atomic>
#include <filesystem>

#include "ns_test_util.hpp"
#include "podns/namespace.hpp"
#include "podns/pin.hpp"
#include "sys/fault.hpp"
#include "test_support.hpp"

namespace podns {
namespace {

// Fails the first `times` unmounts with EBUSY (every one with a negative count).
sys::fault::Handler busy_umounts(std::atomic<int>& calls, int times) {
  return [&calls, times](std::string_view point) {
    if (point != sys::fault::kUmount) return sys::fault::Decision{};
    int n = calls.fetch_add(1);
    return sys::fault::Decision{.error = times < 0 || n < times ? EBUSY : 0};
  };
}

TEST(PinFault, ShortEbusyOnUnmountIsRetried) {
  PODNS_REQUIRE_ROOT();
  test::TestPaths t;
  auto pin = create_pinned(t.paths, NamespaceType::net, test::unique_name("pf"));
  ASSERT_OK(pin);
  std::atomic<int> calls{0};
  {
    sys::fault::Scoped faults(busy_umounts(calls, 3));
    ASSERT_OK(remove_pin(pin->path, pin_dir(t.paths, NamespaceType::net)));
  }
  EXPECT_GE(calls.load(), 4);  // three refused, then the real one
  auto live = pin_is_live(pin->path);
  ASSERT_OK(live);
  EXPECT_FALSE(*live);
  EXPECT_FALSE(std::filesystem::exists(pin->path));
}

TEST(PinFault, LastingEbusyIsAClearErrorAndKeepsThePin) {
  PODNS_REQUIRE_ROOT();
  test::TestPaths t;
  auto pin = create_pinned(t.paths, NamespaceType::net, test::unique_name("pf"));
  ASSERT_OK(pin);
  std::atomic<int> calls{0};
  {
    sys::fault::Scoped faults(busy_umounts(calls, -1));
    auto r = remove_pin(pin->path, pin_dir(t.paths, NamespaceType::net));
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(std::errc::device_or_resource_busy)) << r.error().message();
    EXPECT_EQ(r.error().message(), "remove pin " + pin->path + ": unmount: Device or resource busy");
  }
  EXPECT_GT(calls.load(), 1);  // it did retry before giving up
  // Nothing lost: the namespace is still pinned and usable.
  auto live = pin_is_live(pin->path);
  ASSERT_OK(live);
  EXPECT_TRUE(*live);
  ASSERT_OK(Namespace::open_path(pin->path, NamespaceType::net));
  // Once the mount is free again, the same call removes it.
  ASSERT_OK(remove_pin(pin->path, pin_dir(t.paths, NamespaceType::net)));
  EXPECT_FALSE(std::filesystem::exists(pin->path));
}

}  // namespace
}  // namespace podns
