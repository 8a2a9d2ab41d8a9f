// Pin primitives on the real kernel: shared pin dir, bind, remove (idempotent, path rules, busy),
// liveness and stale leftovers.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "ns_test_util.hpp"
#include "podns/pin.hpp"
#include "test_support.hpp"

namespace podns {
using test::ParkedChild;
using test::TempDir;

namespace {

using test::exists;
using test::mounts_at;

// A prepared pin dir (a shared self-mount, as podns makes /run/netns) below a temp dir.
class Pin : public ::testing::Test {
 protected:
  void SetUp() override {
    PODNS_REQUIRE_ROOT();
    ASSERT_OK(prepare_pin_dir(dir));
  }
  TempDir tmp;
  std::string dir = tmp / "pins";
};

}  // namespace

TEST(PinDir, BecomesASharedSelfMountOnce) {
  PODNS_REQUIRE_ROOT();
  TempDir tmp;
  std::string dir = tmp / "a/b/netns";
  ASSERT_OK(prepare_pin_dir(dir));
  ASSERT_OK(prepare_pin_dir(dir));
  auto m = mounts_at(dir);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_NE(m[0].find(" shared:"), std::string::npos) << m[0];
}

TEST(PinDir, ConcurrentFirstUsesDoNotStackMounts) {
  PODNS_REQUIRE_ROOT();
  TempDir tmp;
  std::string dir = tmp / "netns";
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      if (!prepare_pin_dir(dir)) ++failures;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(mounts_at(dir).size(), 1u);
}

TEST_F(Pin, BindThenRemoveIsIdempotent) {
  std::string pin = dir + "/u1";
  ASSERT_OK(bind_pin("/proc/self/ns/uts", pin));
  auto live = pin_is_live(pin);
  ASSERT_OK(live);
  EXPECT_TRUE(*live);
  auto ns = Namespace::open_path(pin, NamespaceType::uts);
  auto ours = Namespace::open_current(NamespaceType::uts);
  ASSERT_OK(ns);
  ASSERT_OK(ours);
  EXPECT_TRUE(*ns == *ours);
  ASSERT_OK(remove_pin(pin, dir));
  EXPECT_FALSE(exists(pin));
  EXPECT_OK(remove_pin(pin, dir));  // absent is success
  auto gone = pin_is_live(pin);
  ASSERT_OK(gone);
  EXPECT_FALSE(*gone);
}

TEST_F(Pin, BindOntoExistingNameFailsAndKeepsIt) {
  std::string pin = dir + "/dup";
  ASSERT_OK(bind_pin("/proc/self/ns/uts", pin));
  auto again = bind_pin("/proc/self/ns/ipc", pin);
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().is(Errc::already_exists));
  auto ns = Namespace::open_path(pin);
  ASSERT_OK(ns);
  EXPECT_EQ(ns->type(), NamespaceType::uts);
  ASSERT_OK(remove_pin(pin, dir));
}

TEST_F(Pin, FailedBindLeavesNothing) {
  auto r = bind_pin(tmp / "no-such-source", dir + "/x");
  ASSERT_FALSE(r);
  EXPECT_FALSE(exists(dir + "/x"));
}

TEST_F(Pin, RemoveRefusesPathsOutsideTheBaseDir) {
  std::string other = tmp / "other";
  ASSERT_EQ(::mkdir(other.c_str(), 0755), 0);
  std::ofstream(other + "/victim") << "";
  ASSERT_EQ(::symlink((other + "/victim").c_str(), (dir + "/link").c_str()), 0);

  for (const std::string& bad : {dir + "/../other/victim", other + "/victim", dir + "/link"}) {
    auto r = remove_pin(bad, dir);
    ASSERT_FALSE(r) << bad;
    EXPECT_TRUE(r.error().is(Errc::outside_base_dir)) << bad << ": " << r.error().message();
  }
  EXPECT_TRUE(exists(other + "/victim"));
  EXPECT_TRUE(exists(dir + "/link"));
}

TEST_F(Pin, RemoveRefusesDirectoriesAndForeignFiles) {
  ASSERT_EQ(::mkdir((dir + "/sub").c_str(), 0755), 0);
  std::ofstream(dir + "/data") << "not a pin";
  auto d = remove_pin(dir + "/sub", dir);
  ASSERT_FALSE(d);
  EXPECT_TRUE(d.error().is(Errc::not_a_namespace));
  auto f = remove_pin(dir + "/data", dir);
  ASSERT_FALSE(f);
  EXPECT_TRUE(f.error().is(Errc::not_a_namespace));
  EXPECT_TRUE(exists(dir + "/sub"));
  EXPECT_TRUE(exists(dir + "/data"));
}

TEST_F(Pin, RemoveOfABusyPinFailsWithEbusyAndLosesNothing) {
  // Something that is no namespace mounted over the pin file: unlink says EBUSY.
  std::string pin = dir + "/busy";
  std::ofstream(pin) << "";
  std::ofstream(tmp / "cover") << "";
  ASSERT_EQ(::mount((tmp / "cover").c_str(), pin.c_str(), nullptr, MS_BIND, nullptr), 0);
  auto r = remove_pin(pin, dir);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(std::errc::device_or_resource_busy)) << r.error().message();
  EXPECT_NE(r.error().message().find("mounted on it"), std::string::npos) << r.error().message();
  EXPECT_TRUE(exists(pin));
  EXPECT_TRUE(exists(tmp / "cover"));
  ASSERT_EQ(::umount2(pin.c_str(), MNT_DETACH), 0);
  ASSERT_OK(remove_pin(pin, dir));
  EXPECT_FALSE(exists(pin));
}

TEST_F(Pin, AMountInAnotherMountNamespaceDoesNotBlockRemoval) {
  // A plain (not shared) dir, and a child whose private mount namespace holds a copy of the pin:
  // rm still succeeds (the kernel detaches the other copy on unlink).
  std::string plain = tmp / "plain";
  ASSERT_EQ(::mkdir(plain.c_str(), 0755), 0);
  std::string pin = plain + "/elsewhere";
  ASSERT_OK(bind_pin("/proc/self/ns/uts", pin));
  ParkedChild child(CLONE_NEWNS);
  ASSERT_TRUE(child.ready());
  ASSERT_OK(remove_pin(pin, plain));
  EXPECT_FALSE(exists(pin));
}

TEST_F(Pin, SharedPinDirPropagatesUnmountToOtherMountNamespaces) {
  std::string pin = dir + "/prop";
  ASSERT_OK(bind_pin("/proc/self/ns/uts", pin));
  ParkedChild child(CLONE_NEWNS);  // a copy of our mounts, the pin dir a peer of ours
  ASSERT_TRUE(child.ready());
  ASSERT_EQ(mounts_at(pin, std::to_string(child.pid())).size(), 1u);
  ASSERT_OK(remove_pin(pin, dir));
  EXPECT_TRUE(mounts_at(pin, std::to_string(child.pid())).empty());
  EXPECT_FALSE(exists(pin));
}

TEST_F(Pin, StaleLeftoverIsDetectedAndRemoved) {
  std::string stale = dir + "/stale";
  std::ofstream(stale) << "";
  auto live = pin_is_live(stale);
  ASSERT_OK(live);
  EXPECT_FALSE(*live);
  auto removed = remove_if_stale(stale, dir);
  ASSERT_OK(removed);
  EXPECT_TRUE(*removed);
  EXPECT_FALSE(exists(stale));

  std::string pin = dir + "/live";
  ASSERT_OK(bind_pin("/proc/self/ns/uts", pin));
  auto kept = remove_if_stale(pin, dir);
  ASSERT_OK(kept);
  EXPECT_FALSE(*kept);
  EXPECT_TRUE(exists(pin));
  ASSERT_OK(remove_pin(pin, dir));
}

TEST_F(Pin, FileBeingPinnedIsNotStale) {
  std::string young = dir + "/young";
  // What bind_pin holds between creating the file and mounting onto it.
  UniqueFd fd(::open(young.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
  ASSERT_TRUE(fd);
  ASSERT_EQ(::flock(fd.get(), LOCK_EX), 0);
  auto r = remove_if_stale(young, dir);
  ASSERT_OK(r);
  EXPECT_FALSE(*r);
  EXPECT_TRUE(exists(young));
}

}  // namespace podns
