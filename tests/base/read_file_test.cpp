#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "podns/read_file.hpp"
#include "test_support.hpp"

namespace podns {
namespace {

TEST(ReadRegularFile, ReadsAWholeSmallFile) {
  test::TempDir dir;
  std::ofstream(dir / "f") << "hello";
  auto text = read_regular_file(dir / "f", 16);
  ASSERT_OK(text);
  EXPECT_EQ(*text, "hello");
}

TEST(ReadRegularFile, RefusesDirectoriesFifosAndLargeFilesWithTheCallersCode) {
  test::TempDir dir;
  ASSERT_EQ(mkfifo((dir / "fifo").c_str(), 0600), 0);
  std::ofstream(dir / "big") << std::string(100, 'x');
  for (auto [path, why] : {std::pair{dir.path(), "not a regular file"}, {dir / "fifo", "not a regular file"},
                           {dir / "big", "larger than 10 bytes"}}) {
    auto r = read_regular_file(path, 10, Errc::corrupt);
    ASSERT_FALSE(r) << path;
    EXPECT_TRUE(r.error().is(Errc::corrupt)) << r.error().message();
    EXPECT_NE(r.error().message().find(why), std::string::npos) << r.error().message();
  }
}

TEST(ReadRegularFile, MissingFileKeepsTheErrno) {
  auto r = read_regular_file("/nonexistent/podns", 10);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().sys_errno(), ENOENT);
}

}  // namespace
}  // namespace podns
