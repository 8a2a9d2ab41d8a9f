// Progress lines of long commands: on a terminal (a pty from script(1)) `pod rm` of several pods,
// `gc` and `network reload` show "[i/n] step" lines rewritten in place; through a pipe, and with
// --json, nothing of the kind.
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "../pod/pod_fixture.hpp"

namespace podns {
namespace {

using test::PodWorld;

constexpr std::string_view kEraseLine = "\r\x1b[K";

// `podns ARGS` on a pseudo-terminal: everything it wrote to stdout and stderr, in order.
test::CommandResult run_on_terminal(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  std::string cmd = test::podns_cli();
  for (const auto& a : args) cmd += " " + a;
  return test::run({"script", "--quiet", "--return", "--command", cmd, "/dev/null"}, env);
}

TEST(ProgressCli, LongCommandsShowStepsOnATerminalOnly) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("nft", "nftables");
  PODNS_REQUIRE_TOOL("script", "bsdutils");
  PodWorld w;
  auto env = w.cli_env();
  std::vector<std::string> names;
  for (int i = 0; i < 3; ++i) {
    names.push_back(test::unique_name("pg"));
    auto c = test::run_podns({"pod", "create", names.back()}, env);
    ASSERT_EQ(c.exit_code, 0) << c.err;
  }

  auto rm = run_on_terminal({"pod", "rm", names[0], names[1], names[2]}, env);
  ASSERT_EQ(rm.exit_code, 0) << rm.out << rm.err;
  for (int i = 0; i < 3; ++i)
    EXPECT_NE(rm.out.find(fmt::format("[{}/3] pod rm {}", i + 1, names[i])), std::string::npos) << rm.out;
  // Each removed name is printed on a line of its own, the progress line taken off first.
  EXPECT_NE(rm.out.find(std::string(kEraseLine) + names[2] + "\r\n"), std::string::npos) << rm.out;

  auto gc = run_on_terminal({"gc"}, env);
  ASSERT_EQ(gc.exit_code, 0) << gc.out << gc.err;
  EXPECT_NE(gc.out.find("[1/9] gc: pods of an earlier boot"), std::string::npos) << gc.out;
  EXPECT_NE(gc.out.find("[9/9] gc: helpers without a pod"), std::string::npos) << gc.out;
  EXPECT_EQ(gc.out.substr(gc.out.size() - kEraseLine.size()), kEraseLine) << "the line is taken off at the end";

  auto reload = run_on_terminal({"network", "reload"}, env);
  ASSERT_EQ(reload.exit_code, 0) << reload.out << reload.err;
  EXPECT_NE(reload.out.find("[1/2] network podns: bridge " + w.bridge()), std::string::npos) << reload.out;
  EXPECT_NE(reload.out.find("[2/2] firewall: table " + w.env.nft_table), std::string::npos) << reload.out;

  // No terminal, or JSON: not a byte of it.
  auto json = run_on_terminal({"gc", "--json"}, env);
  ASSERT_EQ(json.exit_code, 0) << json.out;
  EXPECT_EQ(json.out.find("[1/9]"), std::string::npos) << json.out;
  auto piped = test::run_podns({"gc"}, env);
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.err.find('\x1b'), std::string::npos) << piped.err;
  EXPECT_EQ(piped.out.find('\x1b'), std::string::npos) << piped.out;
}

}  // namespace
}  // namespace podns
