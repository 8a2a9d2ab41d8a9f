// Pins are mounted, unmounted and unlinked through fds: a path swapped for something else between
// podns's check and its action is never what gets mounted over, unmounted or unlinked. The swap
// happens in a hook at that exact moment (ns/pin_internal.hpp); everything else is the real kernel.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ns/pin_internal.hpp"
#include "podns/pin.hpp"
#include "test_support.hpp"

namespace podns {
using test::TempDir;

namespace {

using test::exists;
using test::mounts_at;

std::string content(const std::string& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct PinDir {
  TempDir tmp;
  std::string dir = tmp / "pins";
  PinDir() { EXPECT_TRUE(prepare_pin_dir(dir)); }
};

}  // namespace

TEST(PinRace, BindNeverMountsThroughASymlinkSwappedInBeforeTheMount) {
  PODNS_REQUIRE_ROOT();
  PinDir d;
  std::string pin = d.dir + "/swapped";
  std::string victim = d.tmp / "victim";  // outside the pin dir
  std::ofstream(victim) << "";
  auto r = detail::bind_pin_with_hook("/proc/self/ns/uts", pin, [&] {
    // Our file moves aside, a symlink to a file elsewhere takes its name.
    ASSERT_EQ(::rename(pin.c_str(), (d.dir + "/moved").c_str()), 0);
    ASSERT_EQ(::symlink(victim.c_str(), pin.c_str()), 0);
  });
  EXPECT_TRUE(mounts_at(victim).empty()) << "a namespace was mounted over a file outside the pin dir";
  ASSERT_FALSE(r) << "the pin path is a symlink now, yet bind_pin reported success";
  EXPECT_TRUE(r.error().is(Errc::busy)) << r.error().message();
  EXPECT_TRUE(mounts_at(d.dir + "/moved").empty()) << "the mount on the moved file was not taken off";
  EXPECT_TRUE(exists(pin)) << "the symlink (someone else's) was removed";
  EXPECT_TRUE(exists(victim));
  ::umount2(victim.c_str(), MNT_DETACH);  // what the old code left behind, if anything
  ::unlink(pin.c_str());
  ::unlink((d.dir + "/moved").c_str());
}

TEST(PinRace, BindNeverMountsOntoAnotherFileSwappedInBeforeTheMount) {
  PODNS_REQUIRE_ROOT();
  PinDir d;
  std::string pin = d.dir + "/replaced";
  auto r = detail::bind_pin_with_hook("/proc/self/ns/uts", pin, [&] {
    // Our file goes, another one (someone else's, with content) takes its name.
    ASSERT_EQ(::unlink(pin.c_str()), 0);
    std::ofstream(pin) << "someone else's";
  });
  EXPECT_TRUE(mounts_at(pin).empty()) << "the namespace was mounted onto the other file";
  ASSERT_FALSE(r) << "the pin file was replaced, yet bind_pin reported success";
  EXPECT_TRUE(exists(pin)) << "the other file was unlinked";
  EXPECT_EQ(content(pin), "someone else's");
  ::umount2(pin.c_str(), MNT_DETACH);
  ::unlink(pin.c_str());
}

TEST(PinRace, RemoveLeavesAFileSwappedInForThePin) {
  PODNS_REQUIRE_ROOT();
  PinDir d;
  std::string pin = d.dir + "/gone";
  ASSERT_OK(bind_pin("/proc/self/ns/uts", pin));
  auto r = detail::remove_pin_with_hook(pin, d.dir, [&] {
    // The pin goes (someone else removed it), a file that is no pin takes its name.
    ASSERT_EQ(::umount2(pin.c_str(), MNT_DETACH), 0);
    ASSERT_EQ(::unlink(pin.c_str()), 0);
    std::ofstream(pin) << "not a pin";
  });
  EXPECT_TRUE(exists(pin)) << "remove_pin unlinked a file it never checked";
  EXPECT_EQ(content(pin), "not a pin");
  if (!r) {
    EXPECT_TRUE(r.error().is(Errc::not_a_namespace)) << r.error().message();
  }
  ::unlink(pin.c_str());
}

TEST(PinRace, RemoveLeavesAMountStackedOnThePin) {
  PODNS_REQUIRE_ROOT();
  PinDir d;
  std::string pin = d.dir + "/covered";
  std::string cover = d.tmp / "cover";
  std::ofstream(cover) << "";
  ASSERT_OK(bind_pin("/proc/self/ns/uts", pin));
  auto r = detail::remove_pin_with_hook(pin, d.dir, [&] {
    // Something that is no namespace is mounted over the pin after it was checked.
    ASSERT_EQ(::mount(cover.c_str(), pin.c_str(), nullptr, MS_BIND, nullptr), 0);
  });
  auto m = mounts_at(pin);
  EXPECT_EQ(m.size(), 2u) << "remove_pin unmounted a mount it never checked (or the pin under it)";
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(std::errc::device_or_resource_busy)) << r.error().message();
  // Once the cover (the top) is gone the pin comes off as usual.
  if (m.size() == 2) {
    ASSERT_EQ(::umount2(pin.c_str(), MNT_DETACH), 0);
  }
  ASSERT_OK(remove_pin(pin, d.dir));
  EXPECT_FALSE(exists(pin));
}

}  // namespace podns
