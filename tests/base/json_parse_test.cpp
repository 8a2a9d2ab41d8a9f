// parse_json / read_json_file: every document from outside the process goes through these, so
// their limits are what stands between a hostile file, plugin or helper and a stack overflow.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

#include "podns/json_dump.hpp"
#include "podns/json_parse.hpp"
#include "test_support.hpp"

namespace podns {
namespace {

std::string nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(ParseJson, ParsesADocument) {
  auto j = parse_json(R"({"a": [1, {"b": "c"}], "d": null})");
  ASSERT_OK(j);
  EXPECT_EQ((*j)["a"][1]["b"], "c");
}

TEST(ParseJson, RefusesNestingPastTheLimitBeforeParsing) {
  ASSERT_OK(parse_json(nested(kMaxJsonDepth)));
  auto one_more = parse_json(nested(kMaxJsonDepth + 1));
  ASSERT_FALSE(one_more);
  EXPECT_TRUE(one_more.error().is(Errc::corrupt));
  EXPECT_NE(one_more.error().message().find("nested deeper than 64 levels"), std::string::npos)
      << one_more.error().message();
  // 100000 deep: nlohmann would parse it, and the first dump() of it would overflow the stack.
  auto deep = parse_json(R"({"x":)" + nested(100000) + "}");
  ASSERT_FALSE(deep);
  EXPECT_NE(deep.error().message().find("nested deeper"), std::string::npos);
  auto tight = parse_json(nested(5), {.max_depth = 4});
  ASSERT_FALSE(tight);
}

TEST(ParseJson, BracketsInsideStringsDoNotCount) {
  std::string brackets(1000, '[');
  auto s = parse_json(R"({"a":")" + brackets + R"(", "b": "\"[[[[{{{{", "c": "\\"})");
  ASSERT_OK(s);
  EXPECT_EQ((*s)["a"].get<std::string>().size(), 1000u);
  EXPECT_EQ((*s)["c"], "\\");
}

TEST(ParseJson, RefusesDocumentsOverTheSizeLimit) {
  auto big = parse_json(std::string(100, ' '), {.max_bytes = 10});
  ASSERT_FALSE(big);
  EXPECT_TRUE(big.error().is(Errc::corrupt));
  EXPECT_NE(big.error().message().find("JSON document of 100 bytes exceeds the limit of 10"), std::string::npos)
      << big.error().message();
}

TEST(ParseJson, InvalidTextGivesTheCallersCodeAndWhere) {
  for (std::string bad : {"", "{", "not json", "{\"a\":1,}", "\"\xff\"", "[1] [2]"}) {
    auto r = parse_json(bad, {.error = Errc::invalid_argument});
    ASSERT_FALSE(r) << bad;
    EXPECT_TRUE(r.error().is(Errc::invalid_argument)) << r.error().message();
    EXPECT_NE(r.error().message().find("invalid JSON"), std::string::npos) << r.error().message();
  }
  auto where = parse_json("{\"a\": tru}");
  ASSERT_FALSE(where);
  EXPECT_NE(where.error().message().find("line 1, column"), std::string::npos) << where.error().message();
}

TEST(ReadJsonFile, ReadsAndNamesThePathInEveryFailure) {
  test::TempDir dir("json");
  std::ofstream(dir / "ok.json") << R"({"k": [1, 2]})";
  auto ok = read_json_file(dir / "ok.json");
  ASSERT_OK(ok);
  EXPECT_EQ((*ok)["k"][1], 2);

  std::ofstream(dir / "bad.json") << "{";
  std::ofstream(dir / "deep.json") << nested(100000);
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  for (auto [name, says] : {std::pair{"bad.json", "invalid JSON"}, {"deep.json", "nested deeper"},
                            {"fifo", "not a regular file"}}) {
    auto r = read_json_file(dir / name, {.error = Errc::invalid_argument});
    ASSERT_FALSE(r) << name;
    EXPECT_TRUE(r.error().is(Errc::invalid_argument)) << r.error().message();
    EXPECT_NE(r.error().message().find(dir / name), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find(says), std::string::npos) << r.error().message();
  }
  auto missing = read_json_file(dir / "missing.json");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().sys_errno(), ENOENT);
}

TEST(ReadJsonFile, A100MBFileIsRefusedWithoutReadingIt) {
  test::TempDir dir("json");
  std::string path = dir / "huge.json";
  std::ofstream(path).close();
  ASSERT_EQ(::truncate(path.c_str(), 100 << 20), 0);  // sparse: no disk used
  auto start = std::chrono::steady_clock::now();
  auto r = read_json_file(path);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("larger than 16777216 bytes"), std::string::npos) << r.error().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

}  // namespace
}  // namespace podns
