// The installed headers are the library's contract with runtimes: what they declare is for them.
// Knobs and hooks that only tests use live in the tests or behind the fault seam
// (src/sys/fault.hpp), never in a struct a runtime fills in. (That each header compiles on its own
// is checked by building tests' podns_headers_alone target.)
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "test_support.hpp"

namespace podns {
namespace {

TEST(PublicHeaders, CarryNoTestHooks) {
  const std::regex hook(R"(test (seam|hook|knob)|for tests|\(tests\)|\bfake|kill.?point|crash.?point)",
                        std::regex::icase);
  std::string offenders;
  int headers = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(test::source_dir() + "/include")) {
    if (!e.is_regular_file()) continue;
    ++headers;
    auto rel = std::filesystem::relative(e.path(), test::source_dir()).string();
    std::ifstream in(e.path());
    int line_no = 0;
    for (std::string line; std::getline(in, line);) {
      ++line_no;
      if (std::regex_search(line, hook)) offenders += rel + ":" + std::to_string(line_no) + ": " + line + "\n";
    }
  }
  EXPECT_GT(headers, 40);
  EXPECT_EQ(offenders, "") << "move test-only hooks out of the installed headers (tests/support, src/sys/fault.hpp)";
}

}  // namespace
}  // namespace podns
