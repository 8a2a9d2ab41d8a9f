// write_file_atomically on a real filesystem: the file appears whole with its mode, replaces or
// keeps what is there as asked, and leaves no temp file behind, also when it fails or when many
// threads write one path at once.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "podns/read_file.hpp"
#include "podns/write_file.hpp"
#include "test_support.hpp"

namespace podns {
namespace {

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename().string());
  return out;
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(WriteFileAtomically, WritesTheWholeContentWithItsModeAndNoTempFile) {
  test::TempDir dir;
  std::string big(1 << 20, 'x');
  ASSERT_OK(write_file_atomically(dir / "f", big, {.mode = 0644}));
  EXPECT_EQ(*read_regular_file(dir / "f", 2 << 20), big);
  EXPECT_EQ(mode_of(dir / "f"), 0644u);
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"f"});
  ASSERT_OK(write_file_atomically(dir / "g", "", {.sync_dir = false}));
  EXPECT_EQ(*read_regular_file(dir / "g", 16), "");
  EXPECT_EQ(mode_of(dir / "g"), 0600u);
}

TEST(WriteFileAtomically, ReplacesOrKeepsWhatIsThereAsAsked) {
  test::TempDir dir;
  ASSERT_OK(write_file_atomically(dir / "f", "first"));
  ASSERT_OK(write_file_atomically(dir / "f", "second"));
  EXPECT_EQ(*read_regular_file(dir / "f", 16), "second");
  ASSERT_OK(write_file_atomically(dir / "f", "third", {.replace = false}));
  EXPECT_EQ(*read_regular_file(dir / "f", 16), "second");
  ASSERT_OK(write_file_atomically(dir / "new", "made", {.replace = false}));
  EXPECT_EQ(*read_regular_file(dir / "new", 16), "made");
  auto names = entries(dir.path());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"f", "new"}));
}

TEST(WriteFileAtomically, FailuresNameThePathAndLeaveNothing) {
  test::TempDir dir;
  auto no_dir = write_file_atomically(dir / "missing/f", "x");
  ASSERT_FALSE(no_dir);
  EXPECT_TRUE(no_dir.error().is(std::errc::no_such_file_or_directory)) << no_dir.error().message();
  EXPECT_NE(no_dir.error().message().find(dir / "missing/f"), std::string::npos) << no_dir.error().message();
  // A directory in the way: the rename fails and the temp file goes.
  std::filesystem::create_directory(dir / "d");
  std::ofstream(dir / "d/inside") << "keep";
  auto over_dir = write_file_atomically(dir / "d", "x");
  ASSERT_FALSE(over_dir);
  EXPECT_NE(over_dir.error().message().find("rename"), std::string::npos) << over_dir.error().message();
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"d"});
  EXPECT_EQ(*read_regular_file(dir / "d/inside", 16), "keep");
  auto no_name = write_file_atomically(dir.path() + "/", "x");
  ASSERT_FALSE(no_name);
  EXPECT_TRUE(no_name.error().is(Errc::invalid_argument));
}

TEST(WriteFileAtomically, ConcurrentWritersOfOnePathLeaveOneWholeVersion) {
  test::TempDir dir;
  constexpr int kThreads = 8, kRounds = 50;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Each writer's content is its digit repeated: a torn file would mix digits.
      std::string content(4096, static_cast<char>('0' + t));
      for (int r = 0; r < kRounds; ++r)
        if (!write_file_atomically(dir / "f", content, {.sync_dir = false})) ++failures;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto text = read_regular_file(dir / "f", 8192);
  ASSERT_OK(text);
  ASSERT_EQ(text->size(), 4096u);
  EXPECT_EQ(text->find_first_not_of(text->front()), std::string::npos);
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"f"});
}

}  // namespace
}  // namespace podns
