// What slirp4netns's API socket answers, read apart from the socket (the helper runs as the user:
// its replies are not trusted to be well-formed).
#include <gtest/gtest.h>

#include "rootless/slirp_api.hpp"
#include "test_support.hpp"

namespace podns::rootless::detail {
namespace {

TEST(SlirpApiReply, ReturnErrorOrCorrupt) {
  auto ok = parse_api_reply("add_hostfwd", R"({"return":{"id":3}})");
  ASSERT_OK(ok);
  auto id = hostfwd_id_from(*ok);
  ASSERT_OK(id);
  EXPECT_EQ(*id, 3);
  auto err = parse_api_reply("add_hostfwd", R"({"error":{"desc":"bad request: add_hostfwd: failed"}})");
  ASSERT_FALSE(err);
  EXPECT_TRUE(err.error().is(Errc::plugin_failed));
  EXPECT_EQ(err.error().what(), "bad request: add_hostfwd: failed");
  for (const char* bad : {"", "{", "[]", "{}", R"({"entries":[]})"}) {
    auto r = parse_api_reply("add_hostfwd", bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_TRUE(r.error().is(Errc::corrupt)) << bad;
  }
  // slirp4netns 1.x answers list_hostfwd without "return".
  auto bare = parse_api_reply("list_hostfwd", R"({"entries":[]})");
  ASSERT_OK(bare);
  auto none = hostfwds_from(*bare);
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST(SlirpApiReply, ListedForwards) {
  auto r = parse_api_reply("list_hostfwd", R"({"return":{"entries":[
      {"id":1,"proto":"tcp","host_addr":"0.0.0.0","host_port":8080,"guest_port":80},
      {"id":2,"proto":"udp","host_addr":"127.0.0.1","host_port":5353,"guest_port":53}]}})");
  ASSERT_OK(r);
  auto f = hostfwds_from(*r);
  ASSERT_OK(f);
  ASSERT_EQ(f->size(), 2u);
  EXPECT_TRUE((*f)[0].same_as({"", 8080, 80, Proto::tcp, -1}));
  EXPECT_EQ((*f)[0].id, 1);
  EXPECT_TRUE((*f)[1].same_as({"127.0.0.1", 5353, 53, Proto::udp, -1}));
  EXPECT_EQ((*f)[1].id, 2);
}

// Found by fuzz_slirp_reply: a port or id that does not fit its field was converted anyway (a
// host port of -353 became 65183, an id of 2^32 + 1 the id 1, which remove_hostfwd would then
// remove), and a float out of range was undefined behaviour.
TEST(SlirpApiReply, NumbersThatDoNotFitAreCorrupt) {
  for (const char* entry : {R"({"id":1,"proto":"tcp","host_port":-353,"guest_port":53})",
                            R"({"id":1,"proto":"tcp","host_port":8080,"guest_port":65536})",
                            R"({"id":1,"proto":"tcp","host_port":1e300,"guest_port":80})",
                            R"({"id":1,"proto":"tcp","host_port":"8080","guest_port":80})",
                            R"({"id":4294967297,"proto":"tcp","host_port":8080,"guest_port":80})",
                            R"({"id":1.5,"proto":"tcp","host_port":8080,"guest_port":80})"}) {
    auto f = hostfwds_from(nlohmann::json::parse(std::string(R"({"entries":[)") + entry + "]}"));
    ASSERT_FALSE(f) << entry;
    EXPECT_TRUE(f.error().is(Errc::corrupt)) << entry;
  }
  for (const char* ret : {R"({"id":4294967297})", R"({"id":-1e300})", R"({"id":2.5})", R"({"id":"3"})"}) {
    auto id = hostfwd_id_from(nlohmann::json::parse(ret));
    ASSERT_FALSE(id) << ret;
    EXPECT_TRUE(id.error().is(Errc::corrupt)) << ret;
  }
}

}  // namespace
}  // namespace podns::rootless::detail
