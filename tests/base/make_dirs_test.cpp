// make_dirs: `mkdir -p` with the caller's mode, that keeps what exists and refuses what is in the way.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "podns/make_dirs.hpp"
#include "test_support.hpp"

namespace podns {
namespace {

mode_t mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(MakeDirs, MakesEveryMissingParentWithTheModeAndKeepsWhatExists) {
  test::TempDir dir;
  ::chmod(dir.path().c_str(), 0755);
  ASSERT_OK(make_dirs(dir / "a/b/c", 0700));
  for (const char* d : {"a", "a/b", "a/b/c"}) EXPECT_EQ(mode_of(dir / d), 0700u) << d;
  ::chmod((dir / "a").c_str(), 0750);
  ASSERT_OK(make_dirs(dir / "a", 0700));  // there: untouched
  EXPECT_EQ(mode_of(dir / "a"), 0750u);
  EXPECT_EQ(mode_of(dir.path()), 0755u);
}

TEST(MakeDirs, AFileOrADanglingSymlinkInTheWayIsNotADirectory) {
  test::TempDir dir;
  std::ofstream(dir / "file") << "x";
  ASSERT_EQ(::symlink((dir / "nowhere").c_str(), (dir / "dangling").c_str()), 0);
  for (const char* in_the_way : {"file", "dangling", "file/below"}) {
    auto st = make_dirs(dir / in_the_way, 0700);
    ASSERT_FALSE(st) << in_the_way;
    EXPECT_TRUE(st.error().is(std::errc::not_a_directory) || st.error().is(std::errc::no_such_file_or_directory))
        << in_the_way << ": " << st.error().message();
    EXPECT_NE(st.error().message().find("create directory"), std::string::npos) << st.error().message();
  }
  EXPECT_TRUE(make_dirs(dir / "file", 0700).error().is(std::errc::not_a_directory));
}

}  // namespace
}  // namespace podns
