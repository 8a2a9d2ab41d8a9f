#include <gtest/gtest.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

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

TEST(ReadRegularFile, ProcFilesOfSizeZeroAreReadToTheirEndWithinTheBound) {
  auto status = read_regular_file("/proc/self/status", 64 * 1024);
  ASSERT_OK(status);
  EXPECT_NE(status->find("\nPid:"), std::string::npos);
  auto cut = read_regular_file("/proc/self/status", 10);
  ASSERT_FALSE(cut);
  EXPECT_NE(cut.error().message().find("larger than 10 bytes"), std::string::npos);
}

// The fd the reader holds is close-on-exec (a child exec'd by another thread meanwhile must not
// inherit it) and non-blocking: seen from /proc/self/fdinfo while a large file is being read.
TEST(ReadRegularFile, ItsFdIsCloseOnExecAndNonBlockingWhileItReads) {
  test::TempDir dir;
  std::string path = dir / "large";
  std::ofstream(path) << std::string(8u << 20, 'x');
  std::atomic<bool> stop{false}, read_failed{false};
  std::thread reader([&] {
    while (!stop)
      if (!read_regular_file(path, 16u << 20)) read_failed = true;
  });
  std::optional<unsigned long> flags;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!flags && std::chrono::steady_clock::now() < deadline) {
    DIR* d = ::opendir("/proc/self/fd");
    ASSERT_NE(d, nullptr);
    while (dirent* e = ::readdir(d)) {
      char target[4096];
      ssize_t n = ::readlinkat(::dirfd(d), e->d_name, target, sizeof target - 1);
      if (n <= 0 || std::string(target, static_cast<size_t>(n)) != path) continue;
      std::ifstream info(std::string("/proc/self/fdinfo/") + e->d_name);
      for (std::string line; std::getline(info, line);)
        if (line.rfind("flags:", 0) == 0) flags = std::stoul(line.substr(6), nullptr, 8);
    }
    ::closedir(d);
  }
  stop = true;
  reader.join();
  EXPECT_FALSE(read_failed);
  ASSERT_TRUE(flags) << "never saw the reader's fd in 20 s";
  EXPECT_TRUE(*flags & O_CLOEXEC) << std::oct << *flags;
  EXPECT_TRUE(*flags & O_NONBLOCK) << std::oct << *flags;
  EXPECT_EQ(*flags & O_ACCMODE, static_cast<unsigned long>(O_RDONLY)) << std::oct << *flags;
}

TEST(ReadFileTail, TheEndOfAFileOfAnySize) {
  test::TempDir dir;
  std::ofstream(dir / "log") << std::string(1u << 20, 'a') << "last line\n";
  auto tail = read_file_tail(dir / "log", 10);
  ASSERT_OK(tail);
  EXPECT_EQ(*tail, "last line\n");
  std::ofstream(dir / "short") << "short";
  auto all = read_file_tail(dir / "short", 100);
  ASSERT_OK(all);
  EXPECT_EQ(*all, "short");
  ASSERT_EQ(mkfifo((dir / "fifo").c_str(), 0600), 0);
  auto fifo = read_file_tail(dir / "fifo", 100);
  ASSERT_FALSE(fifo);
  EXPECT_NE(fifo.error().message().find("not a regular file"), std::string::npos);
}

// The bounded reader and parser are the only way the library and the CLI read a file or parse
// JSON: a std::ifstream or fopen opens without O_CLOEXEC, blocks on a FIFO and has no bound, and
// nlohmann's parse has no depth limit. (Tests may use them on files they wrote themselves.)
TEST(BoundedInput, NoOtherFileReaderOrJsonParserInTheLibraryOrTheCli) {
  const std::regex forbidden(R"(std::ifstream|std::fstream|\bfopen\s*\(|json::parse\s*\()");
  std::string offenders;
  for (const char* top : {"src", "cli", "include"}) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(test::source_dir() + "/" + top)) {
      if (!e.is_regular_file()) continue;
      auto rel = std::filesystem::relative(e.path(), test::source_dir()).string();
      if (rel == "src/base/json_parse.cpp") continue;  // the parser itself
      std::ifstream in(e.path());
      int line_no = 0;
      for (std::string line; std::getline(in, line);) {
        ++line_no;
        auto code = line.substr(0, line.find("//"));
        if (std::regex_search(code, forbidden)) offenders += rel + ":" + std::to_string(line_no) + ": " + line + "\n";
      }
    }
  }
  EXPECT_EQ(offenders, "") << "use read_regular_file (podns/read_file.hpp) and parse_json (podns/json_parse.hpp)";
}

}  // namespace
}  // namespace podns
