// The state names netns paths and holds CNI results: its files are 0600 and the directories podns
// makes for it 0700 from birth, whatever the umask.
#include "podns/state/store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_support.hpp"

namespace podns::state {
namespace {

using podns::test::TempDir;

// Sets the umask for one test and puts the old one back.
struct ScopedUmask {
  explicit ScopedUmask(mode_t m) : old(::umask(m)) {}
  ~ScopedUmask() { ::umask(old); }
  mode_t old;
};

mode_t mode_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) < 0) return static_cast<mode_t>(-1);
  return st.st_mode & 07777;
}

TEST(StorePermissions, NewDatabaseWalAndShmAre0600AndNewDirs0700) {
  ScopedUmask umask(022);
  TempDir tmp("perm");
  std::string state = tmp.path() + "/var/lib/podns";  // three directories podns creates
  std::string db = state + "/podns.db";
  {
    auto store = Store::open(db);
    ASSERT_OK(store);
    // Right after the first open, before any write of ours: SQLite made -wal and -shm while
    // switching to WAL mode.
    EXPECT_EQ(mode_of(db), 0600u) << std::oct << mode_of(db);
    EXPECT_EQ(mode_of(db + "-wal"), 0600u) << std::oct << mode_of(db + "-wal");
    EXPECT_EQ(mode_of(db + "-shm"), 0600u) << std::oct << mode_of(db + "-shm");
    ASSERT_OK(store->insert_pod(PodRecord{"web", PodPhase::creating, "{}", "", "", 0}, {}));
    EXPECT_EQ(mode_of(db + "-wal"), 0600u);
  }
  Store::close_idle();
  for (const std::string& dir : {tmp.path() + "/var", tmp.path() + "/var/lib", state})
    EXPECT_EQ(mode_of(dir), 0700u) << dir << ": " << std::oct << mode_of(dir);
}

TEST(StorePermissions, ExistingDirectoryKeepsItsMode) {
  ScopedUmask umask(022);
  TempDir tmp("perm");
  std::string state = tmp.path() + "/state";
  ASSERT_EQ(::mkdir(state.c_str(), 0755), 0);
  {
    auto store = Store::open(state + "/podns.db");
    ASSERT_OK(store);
    EXPECT_EQ(mode_of(state + "/podns.db"), 0600u);
  }
  Store::close_idle();
  EXPECT_EQ(mode_of(state), 0755u);  // not podns's to change
}

// A database an older podns made with the umask (its -wal stays, SQLite keeps it) is made private
// on the next open.
TEST(StorePermissions, LegacyWorldReadableFilesAreTightened) {
  ScopedUmask umask(022);
  TempDir tmp("perm");
  std::string db = tmp.path() + "/podns.db";
  {
    auto store = Store::open(db);
    ASSERT_OK(store);
  }
  Store::close_idle();
  for (const std::string& f : {db, db + "-wal", db + "-shm"}) {
    if (::access(f.c_str(), F_OK) == 0) {
      ASSERT_EQ(::chmod(f.c_str(), 0644), 0) << f;
    }
  }
  {
    auto store = Store::open(db);
    ASSERT_OK(store);
    for (const std::string& f : {db, db + "-wal", db + "-shm"}) {
      if (::access(f.c_str(), F_OK) == 0) {
        EXPECT_EQ(mode_of(f), 0600u) << f;
      }
    }
  }
  Store::close_idle();
}

}  // namespace
}  // namespace podns::state
