// A closed Store keeps its connection for the next open of the same file in this process; these
// pin down when it must not be reused.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "podns/state/store.hpp"
#include "test_support.hpp"

namespace podns::state {
namespace {

using podns::test::TempDir;

PodRecord pod(const std::string& name) { return PodRecord{name, PodPhase::creating, "{}", "", "", 0}; }

// How many of this process's fds are open on path (the database file itself).
int fds_on(const std::string& path) {
  int n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    std::error_code rc;
    if (std::filesystem::read_symlink(e.path(), rc) == path) ++n;
  }
  return n;
}

TEST(StorePool, AClosedStoreKeepsItsConnectionUntilCloseIdle) {
  TempDir dir;
  const std::string db = dir / "podns.db";
  {
    auto store = Store::open(db);
    ASSERT_OK(store);
    ASSERT_OK(store->insert_pod(pod("a"), {}));
  }
  EXPECT_EQ(fds_on(db), 1) << "the connection is kept";
  {
    auto again = Store::open(db);
    ASSERT_OK(again);
    EXPECT_EQ(fds_on(db), 1) << "and taken again, not a second one";
    ASSERT_OK(again->get_pod("a"));
  }
  Store::close_idle();
  EXPECT_EQ(fds_on(db), 0);
}

TEST(StorePool, ADatabaseRemovedAndMadeAgainGetsAFreshConnection) {
  TempDir dir;
  const std::string db = dir / "state/podns.db";
  {
    // Two at once: two kept connections to the file about to go, both passed over below.
    auto store = Store::open(db);
    auto second = Store::open(db);
    ASSERT_OK(store);
    ASSERT_OK(second);
    ASSERT_OK(store->insert_pod(pod("old"), {}));
  }
  std::filesystem::remove_all(dir / "state");
  auto fresh = Store::open(db);
  ASSERT_OK(fresh);
  auto old = fresh->get_pod("old");
  ASSERT_FALSE(old) << "a kept connection to the removed file was reused";
  EXPECT_TRUE(old.error().is(Errc::not_found));
  ASSERT_OK(fresh->insert_pod(pod("new"), {}));
  EXPECT_TRUE(std::filesystem::exists(db));
}

TEST(StorePool, AForkedChildOpensItsOwnConnection) {
  TempDir dir;
  const std::string db = dir / "podns.db";
  {
    auto store = Store::open(db);
    ASSERT_OK(store);
    ASSERT_OK(store->insert_pod(pod("parent"), {}));
  }
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The parent's kept connection is in this copy of the pool: it must be left alone.
    int before = fds_on(db);
    auto store = Store::open(db);
    bool ok = store && store->get_pod("parent") && store->insert_pod(pod("child"), {});
    bool own = fds_on(db) == before + 1;
    ::_exit(ok && own ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  auto store = Store::open(db);
  ASSERT_OK(store);
  EXPECT_OK(store->get_pod("child"));
}

}  // namespace
}  // namespace podns::state
