// /proc "Key:\tvalue" parsing: garbage is an error value, never an exception (std::stol threw).
#include "sys/proc_status.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include "sys/pidfd.hpp"
#include "test_support.hpp"

namespace podns::sys {
namespace {

TEST(ProcStatus, FindsTheField) {
  std::string_view text = "Name:\tpodns\nThreads:\t3\nCapEff:\t000001ffffffffff\nPid:\t42\n";
  EXPECT_EQ(status_field(text, "Threads").value(), "3");
  EXPECT_EQ(status_number<long>(text, "Pid").value(), 42);
  EXPECT_EQ(status_number<uint64_t>(text, "CapEff", 16).value(), 0x1ffffffffffULL);
  // A key is the whole word before the colon.
  EXPECT_FALSE(status_field("PidX:\t1\n", "Pid"));
}

TEST(ProcStatus, MissingFieldIsNotFound) {
  auto r = status_number<long>("Name:\tx\n", "Pid");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::not_found));
  EXPECT_FALSE(status_field("", "Pid"));
}

TEST(ProcStatus, GarbageIsCorruptNotAnException) {
  // Each of these made std::stol / std::stoi / std::stoull throw (or, for "12abc", guess 12).
  for (std::string_view text : {"Pid:\tgarbage\n", "Pid:\n", "Pid:\t99999999999999999999999\n", "Pid:\t12abc\n",
                                "Pid:"}) {
    Result<long> r = fail(Errc::invalid_argument, "not run");
    ASSERT_NO_THROW(r = status_number<long>(text, "Pid")) << text;
    ASSERT_FALSE(r) << text;
    EXPECT_TRUE(r.error().is(Errc::corrupt)) << text << ": " << r.error().message();
  }
  Result<uint64_t> caps = fail(Errc::invalid_argument, "not run");
  ASSERT_NO_THROW(caps = status_number<uint64_t>("CapEff:\tzz\n", "CapEff", 16));
  EXPECT_FALSE(caps);
}

TEST(ProcStatus, RealProcFiles) {
  auto status = read_proc_file("/proc/self/status");
  ASSERT_OK(status);
  EXPECT_GE(status_number<long>(*status, "Threads").value(), 1);
  EXPECT_EQ(status_number<pid_t>(*status, "Pid").value(), ::getpid());
  auto self = pidfd_open(::getpid());
  ASSERT_OK(self);
  auto alive = pidfd_is_alive(self->view());
  ASSERT_OK(alive);
  EXPECT_TRUE(*alive);
}

}  // namespace
}  // namespace podns::sys
