// The session's pause.pid is a file in the user's run dir: anything in it is parsed strictly and
// never throws. A garbled file means "no session" (ensure_session then replaces it), not a failure
// that would lock the user out of every command.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "podns/rootless/session.hpp"
#include "test_support.hpp"

namespace podns::rootless {
namespace {

TEST(SessionPidFile, GarbageIsNoSessionNotAnException) {
  test::TempDir run("pidf");
  const std::string self = std::to_string(::getpid());
  for (const std::string& text :
       {std::string("garbage"), std::string(""), std::string("\n"), std::string("12abc 5"),
        std::string("99999999999999999999999 1"), std::string("-5 7"), std::string(self + " 1junk"),
        std::string(self), std::string(self + " 99999999999999999999999"), std::string("\xff\xfe 1"),
        std::string(4096, '9')}) {
    std::ofstream(run.path() + "/pause.pid", std::ios::trunc) << text;
    Result<std::optional<SessionInfo>> found = fail(Errc::invalid_argument, "not run");
    ASSERT_NO_THROW(found = find_session(run.path())) << text;
    ASSERT_OK(found);
    EXPECT_FALSE(found->has_value()) << text;
  }
}

}  // namespace
}  // namespace podns::rootless
