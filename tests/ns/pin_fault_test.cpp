// Pins against what the kernel refuses only in races or at limits a test cannot arrange, injected
// at the sys fault points (src/sys/fault.hpp): EBUSY from umount for remove_pin (a short busy
// spell is retried away; a lasting one is a clear error that keeps the pin, and a later remove
// works), a refused unshare or mount for create_pinned (nothing pinned).
#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

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

// Fails every call at `point` with `err`.
sys::fault::Handler refuse(std::string_view point, int err) {
  return [point, err](std::string_view p) { return sys::fault::Decision{.error = p == point ? err : 0}; };
}

// No pin file left in any of the type's pin dirs.
void expect_no_pins(const test::TestPaths& t, std::initializer_list<NamespaceType> types, const std::string& name) {
  for (NamespaceType type : types)
    EXPECT_FALSE(std::filesystem::exists(pin_dir(t.paths, type) + "/" + name)) << to_string(type);
}

// unshare(2) refused (ENOSPC is the kernel's answer at user.max_*_namespaces): a clear error,
// nothing pinned, and the caller's thread still in its own namespaces.
TEST(PinFault, RefusedUnshareIsAClearErrorAndPinsNothing) {
  PODNS_REQUIRE_ROOT();
  test::TestPaths t;
  std::string name = test::unique_name("pf");
  auto home = Namespace::open_current(NamespaceType::net);
  ASSERT_OK(home);
  {
    sys::fault::Scoped faults(refuse(sys::fault::kUnshare, ENOSPC));
    std::vector<NamespaceType> types{NamespaceType::net, NamespaceType::uts};
    auto r = create_pinned(t.paths, types, name);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(std::errc::no_space_on_device)) << r.error().message();
    EXPECT_NE(r.error().message().find("unshare"), std::string::npos) << r.error().message();
  }
  expect_no_pins(t, {NamespaceType::net, NamespaceType::uts}, name);
  auto now = Namespace::open_current(NamespaceType::net);
  ASSERT_OK(now);
  EXPECT_EQ(now->id(), home->id());
}

// The new mount namespace's copy of the pin dir cannot be made private: pinning it anyway would
// let the pin propagate into itself (a namespace kept alive forever), so the creation fails whole.
TEST(PinFault, MountNamespaceThatCannotBeMadePrivateIsNotPinned) {
  PODNS_REQUIRE_ROOT();
  test::TestPaths t;
  std::string name = test::unique_name("pf");
  // A mount namespace is unshared on a thread of its own: only that thread's mounts are refused,
  // not the caller's preparation of the pin dirs.
  auto caller = std::this_thread::get_id();
  {
    sys::fault::Scoped faults([caller](std::string_view p) {
      bool refused = p == sys::fault::kMount && std::this_thread::get_id() != caller;
      return sys::fault::Decision{.error = refused ? EPERM : 0};
    });
    std::vector<NamespaceType> types{NamespaceType::mnt, NamespaceType::uts};
    auto r = create_pinned(t.paths, types, name);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(std::errc::operation_not_permitted)) << r.error().message();
    EXPECT_NE(r.error().message().find("private in the new mount namespace"), std::string::npos)
        << r.error().message();
  }
  expect_no_pins(t, {NamespaceType::mnt, NamespaceType::uts}, name);
}

}  // namespace
}  // namespace podns
