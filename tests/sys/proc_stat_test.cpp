// /proc/PID/stat's start time: counted from the last ')', since a command name may hold both.
#include "sys/proc_stat.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fmt/format.h>

#include "test_support.hpp"

namespace podns::sys {
namespace {

std::string stat_line(std::string_view comm, uint64_t start) {
  // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
  // cutime cstime priority nice threads itrealvalue starttime vsize ...
  return fmt::format("42 ({}) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 {} 1000 50 ...\n", comm, start);
}

TEST(ProcStat, StartTimeIsField22) {
  auto r = parse_stat_start_time(stat_line("podns-pidns", 123456));
  ASSERT_OK(r);
  EXPECT_EQ(*r, 123456u);
}

TEST(ProcStat, ACommandNameWithSpacesAndParenthesesIsSkippedWhole) {
  auto r = parse_stat_start_time(stat_line("a) S 1 2 (b c", 777));
  ASSERT_OK(r);
  EXPECT_EQ(*r, 777u);
}

TEST(ProcStat, GarbageIsCorrupt) {
  for (std::string_view text : {"", "42 podns S 1", "42 (x) S 1 2 3", "42 (x) S 1 42 42 0 -1 4 1 0 0 0 1 2 0 0 20 0 1 0 nope"}) {
    auto r = parse_stat_start_time(text);
    ASSERT_FALSE(r) << text;
    EXPECT_TRUE(r.error().is(Errc::corrupt)) << text;
  }
}

TEST(ProcStat, OurOwnStartTimeIsStable) {
  auto a = process_start_time(::getpid());
  auto b = process_start_time(::getpid());
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_EQ(*a, *b);
  EXPECT_GT(*a, 0u);
}

TEST(ProcStat, NoSuchProcessIsEnoent) {
  auto r = process_start_time(0x3fffffff);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(std::errc::no_such_file_or_directory)) << r.error().message();
}

}  // namespace
}  // namespace podns::sys
