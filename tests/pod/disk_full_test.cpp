// A full disk, for real: the state dir, or the CNI cache, on a small tmpfs filled to the last
// block. A pod create that cannot record itself fails with ENOSPC before any side effect; one
// whose CNI result cannot be cached has its plugins DELeted. Either way the other pods are
// untouched, nothing of the failed one is left, and once space is back the same create works.
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

#include "pod_fixture.hpp"
#include "podns/pod/pod.hpp"

namespace podns::pod {
namespace {

using podns::test::expect_no_trace;
using podns::test::PodWorld;

// A tmpfs of `size` on `dir` for its lifetime. Declare it before the PodWorld whose dir holds it:
// the world's cleanup then still sees the state, and its TempDir detaches the mount.
class SmallDisk {
 public:
  SmallDisk(std::string dir, const std::string& size) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    if (::mount("podns-test-disk", dir_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, ("size=" + size + ",mode=0700").c_str()) < 0)
      error_ = std::string("mount tmpfs: ") + strerror(errno);
  }
  ~SmallDisk() {
    release();
    if (error_.empty()) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  // One file takes every free block; true once a write got ENOSPC.
  bool fill() {
    UniqueFd fd(::open(filler().c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) return false;
    static const std::string chunk(64 * 1024, 'f');
    for (size_t size = chunk.size(); size > 0; size /= 2) {
      while (::write(fd.get(), chunk.data(), size) > 0) {
      }
      if (errno != ENOSPC) return false;
    }
    return true;
  }
  void release() { ::unlink(filler().c_str()); }

 private:
  std::string filler() const { return dir_ + "/.filler"; }
  std::string dir_;
  std::string error_;
};

TEST(PodDiskFull, FullStateDiskFailsBeforeAnythingAndTheRetryWorks) {
  PODNS_REQUIRE_CNI();
  std::optional<SmallDisk> disk;
  PodWorld w;
  disk.emplace(w.env.paths.state_dir, "4m");
  ASSERT_TRUE(disk->ok()) << disk->error();
  auto keep = create(w.env, {.name = "keep"});
  ASSERT_OK(keep);
  ASSERT_TRUE(disk->fill());

  auto r = create(w.env, {.name = "full"});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(std::errc::no_space_on_device)) << r.error().message();
  EXPECT_NE(r.error().message().find("create pod full"), std::string::npos) << r.error().message();
  expect_no_trace(w, "full");
  // Removing needs a write too: refused the same way, and the pod is untouched.
  auto rm = remove(w.env, "keep");
  ASSERT_FALSE(rm);
  EXPECT_TRUE(rm.error().is(std::errc::no_space_on_device)) << rm.error().message();
  auto still = inspect(w.env, "keep");
  ASSERT_OK(still);
  EXPECT_EQ(test::stored_json(*still), to_json(*keep));
  auto live = pin_is_live(keep->netns_path);
  ASSERT_OK(live);
  EXPECT_TRUE(*live);

  disk->release();
  ASSERT_OK(create(w.env, {.name = "full"}));
  ASSERT_OK(remove(w.env, "full"));
  ASSERT_OK(remove(w.env, "keep"));
  expect_no_trace(w, "full");
  expect_no_trace(w, "keep");
  EXPECT_TRUE(w.warnings.empty()) << w.warnings.front();
}

TEST(PodDiskFull, FullCniCacheDiskDeletesWhatThePluginsMade) {
  PODNS_REQUIRE_CNI();
  std::optional<SmallDisk> cache;
  PodWorld w;
  w.write_bridge_network("cninet", 212);
  w.env.paths.cni_cache_dir = w.dir() / "cnicache";
  cache.emplace(w.env.paths.cni_cache_dir, "256k");
  ASSERT_TRUE(cache->ok()) << cache->error();
  ASSERT_TRUE(cache->fill());

  auto r = create(w.env, {.name = "nc", .networks = {"cninet"}});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(std::errc::no_space_on_device)) << r.error().message();
  EXPECT_NE(r.error().message().find("attach network cninet as eth0"), std::string::npos) << r.error().message();
  expect_no_trace(w, "nc");
  // The bridge plugin's DEL took the veth and the host-local lease back.
  auto links = test::run({"ip", "-o", "link", "show", "master", w.extra_bridges.back()});
  for (int i = 0; i < 40 && !links.out.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    links = test::run({"ip", "-o", "link", "show", "master", w.extra_bridges.back()});
  }
  EXPECT_EQ(links.out, "") << "a veth of the rolled-back pod is still on the bridge";

  cache->release();
  auto again = create(w.env, {.name = "nc", .networks = {"cninet"}});
  ASSERT_OK(again);
  ASSERT_OK(remove(w.env, "nc"));
  expect_no_trace(w, "nc");
}

}  // namespace
}  // namespace podns::pod
