// parse_int: the one integer parser for hostile text; json_dump: JSON text that never throws.
#include "podns/parse_int.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "podns/json_dump.hpp"

namespace podns {
namespace {

TEST(ParseInt, WholeDecimalNumbers) {
  EXPECT_EQ(parse_int<int>("0").value(), 0);
  EXPECT_EQ(parse_int<int>("42").value(), 42);
  EXPECT_EQ(parse_int<int>("-7").value(), -7);
  EXPECT_EQ(parse_int<uint64_t>("18446744073709551615").value(), UINT64_MAX);
  EXPECT_EQ(parse_int<int32_t>("-2147483648").value(), INT32_MIN);
}

TEST(ParseInt, Hexadecimal) {
  EXPECT_EQ(parse_int<uint64_t>("000001ffffffffff", 16).value(), 0x1ffffffffffULL);
  EXPECT_EQ(parse_int<unsigned>("1F90", 16).value(), 8080u);
  EXPECT_FALSE(parse_int<unsigned>("0x1F90", 16));  // no prefix
}

TEST(ParseInt, OverflowIsAnError) {
  auto r = parse_int<int>("2147483648");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::invalid_argument));
  EXPECT_NE(r.error().message().find("out of range"), std::string::npos) << r.error().message();
  EXPECT_FALSE(parse_int<uint8_t>("256"));
  EXPECT_FALSE(parse_int<uint64_t>("18446744073709551616"));
  EXPECT_FALSE(parse_int<int64_t>("-9223372036854775809"));
}

TEST(ParseInt, TrailingGarbageIsAnError) {
  for (const char* bad : {"12abc", "12 ", "1.5", "7\n", "42x", "1e3"}) {
    auto r = parse_int<int>(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_TRUE(r.error().is(Errc::invalid_argument)) << bad;
    }
  }
}

TEST(ParseInt, LeadingBlanksAndSignsAreErrors) {
  // std::stoi accepts these; text that should be a bare number is rejected instead.
  for (const char* bad : {" 12", "\t12", "+12", "--1", "-"}) EXPECT_FALSE(parse_int<int>(bad)) << bad;
}

TEST(ParseInt, EmptyIsAnError) {
  auto r = parse_int<long>("");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::invalid_argument));
  EXPECT_FALSE(parse_int<long>(std::string_view()));
}

TEST(ParseInt, NegativeWhereUnsignedIsAnError) {
  EXPECT_FALSE(parse_int<unsigned>("-1"));
  EXPECT_FALSE(parse_int<uint64_t>("-0"));
  EXPECT_FALSE(parse_int<unsigned>("-1", 16));
}

TEST(ParseInt, LongGarbageIsQuotedShort) {
  std::string junk(10000, 'z');
  auto r = parse_int<int>(junk);
  ASSERT_FALSE(r);
  EXPECT_LT(r.error().message().size(), 200u) << r.error().message();
}

TEST(ParseInt, TrimBlanks) {
  EXPECT_EQ(trim_blanks("\t 42 \n"), "42");
  EXPECT_EQ(trim_blanks(" \n\t"), "");
  EXPECT_EQ(trim_blanks(""), "");
  EXPECT_EQ(trim_blanks("a b"), "a b");
}

// A name may hold any byte but '/' and NUL (`ip netns add $'bad\xff'`); nlohmann's plain dump()
// throws type_error 316 on it. json_dump replaces the byte with U+FFFD and stays valid JSON.
TEST(JsonDump, InvalidUtf8IsReplacedNotThrown) {
  nlohmann::json j{{"name", std::string("bad\xff")}, {"ok", "caf\xc3\xa9"}};
  EXPECT_THROW((void)j.dump(), nlohmann::json::type_error);
  std::string text;
  ASSERT_NO_THROW(text = json_dump(j));
  EXPECT_EQ(text, "{\"name\":\"bad\xef\xbf\xbd\",\"ok\":\"caf\xc3\xa9\"}");  // valid UTF-8 kept as is
  auto back = nlohmann::json::parse(text);
  EXPECT_EQ(back["name"], "bad\xef\xbf\xbd");
}

TEST(JsonDump, OrderedAndPrettyAreLikeDump) {
  nlohmann::ordered_json j;
  j["b"] = std::string("\xc0\x80");  // an overlong NUL: invalid
  j["a"] = 1;
  std::string text;
  ASSERT_NO_THROW(text = json_dump(j, 2));
  EXPECT_EQ(text, "{\n  \"b\": \"\xef\xbf\xbd\xef\xbf\xbd\",\n  \"a\": 1\n}");
  nlohmann::json valid{{"x", {1, 2}}};
  EXPECT_EQ(json_dump(valid, 2), valid.dump(2));
  EXPECT_EQ(json_dump(valid), valid.dump());
}

}  // namespace
}  // namespace podns
