// The -p syntax, driver names, the stored record and the privileged-port rule: pure functions.
#include <gtest/gtest.h>

#include "podns/rootless/driver.hpp"
#include "test_support.hpp"

namespace podns::rootless {
namespace {

TEST(PortForward, ParsesHostAndContainerPort) {
  auto f = parse_port_forward("8080:80");
  ASSERT_OK(f);
  EXPECT_EQ(f->host_ip, "");
  EXPECT_EQ(f->host_port, 8080);
  EXPECT_EQ(f->container_port, 80);
  EXPECT_EQ(f->proto, Proto::tcp);
  EXPECT_EQ(format_port_forward(*f), "8080:80/tcp");
}

TEST(PortForward, ParsesAddressAndProtocol) {
  auto f = parse_port_forward("127.0.0.1:5353:53/udp");
  ASSERT_OK(f);
  EXPECT_EQ(f->host_ip, "127.0.0.1");
  EXPECT_EQ(f->host_port, 5353);
  EXPECT_EQ(f->container_port, 53);
  EXPECT_EQ(f->proto, Proto::udp);
  EXPECT_EQ(format_port_forward(*f), "127.0.0.1:5353:53/udp");
}

TEST(PortForward, SinglePortMeansSameInside) {
  auto f = parse_port_forward("9000");
  ASSERT_OK(f);
  EXPECT_EQ(f->host_port, 9000);
  EXPECT_EQ(f->container_port, 9000);
}

TEST(PortForward, WildcardAddressIsEmpty) {
  auto f = parse_port_forward("0.0.0.0:8080:80/tcp");
  ASSERT_OK(f);
  EXPECT_EQ(f->host_ip, "");
}

TEST(PortForward, RejectsBadInputWithClearMessage) {
  struct Case {
    const char* spec;
    const char* says;
  } cases[] = {
      {"", "host port \"\""},
      {"0:80", "1-65535"},
      {"65536:80", "1-65535"},
      {"80:x", "container port \"x\""},
      {"80:80/sctp", "protocol \"sctp\""},
      {"host:80:80", "not an IPv4 address"},
      {"::1:80:80", "expected [IP:]HOSTPORT"},
      {"1.2.3.4:80:80:80", "expected [IP:]HOSTPORT"},
      {"80 :80", "host port"},
  };
  for (auto& c : cases) {
    auto f = parse_port_forward(c.spec);
    ASSERT_FALSE(f.has_value()) << c.spec;
    EXPECT_TRUE(f.error().is(Errc::invalid_argument)) << c.spec;
    EXPECT_NE(f.error().message().find(c.says), std::string::npos) << c.spec << " -> " << f.error().message();
  }
}

TEST(Driver, NamesAndPackages) {
  EXPECT_EQ(driver_name(DriverKind::slirp4netns), "slirp4netns");
  EXPECT_EQ(driver_name(DriverKind::pasta), "pasta");
  EXPECT_EQ(driver_package(DriverKind::pasta), "passt");
  EXPECT_EQ(*parse_driver("pasta"), DriverKind::pasta);
  EXPECT_EQ(*parse_driver("slirp4netns"), DriverKind::slirp4netns);
  auto bad = parse_driver("vpnkit");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("expected slirp4netns or pasta"), std::string::npos);
}

TEST(Record, RoundTripsThroughJson) {
  RootlessNetRecord r;
  r.kind = DriverKind::slirp4netns;
  r.pid = 4242;
  r.start_time = 123456789;
  r.api_socket = "/run/user/1000/podns/rootless/web.slirp4netns.sock";
  r.log_path = "/run/user/1000/podns/rootless/web.slirp4netns.log";
  r.netns_path = "/proc/4241/ns/net";
  r.allow_host_loopback = true;
  r.forwards.push_back({"127.0.0.1", 8080, 80, Proto::tcp, 3});
  r.forwards.push_back({"", 5353, 53, Proto::udp, -1});
  auto back = record_from_json(record_to_json(r));
  ASSERT_OK(back);
  EXPECT_EQ(back->kind, r.kind);
  EXPECT_EQ(back->pid, r.pid);
  EXPECT_EQ(back->start_time, r.start_time);
  EXPECT_EQ(back->api_socket, r.api_socket);
  EXPECT_EQ(back->log_path, r.log_path);
  EXPECT_EQ(back->netns_path, r.netns_path);
  EXPECT_TRUE(back->allow_host_loopback);
  ASSERT_EQ(back->forwards.size(), 2u);
  EXPECT_TRUE(back->forwards[0].same_as(r.forwards[0]));
  EXPECT_EQ(back->forwards[0].id, 3);
  EXPECT_TRUE(back->forwards[1].same_as(r.forwards[1]));
  EXPECT_EQ(back->forwards[1].id, -1);
}

TEST(Record, CorruptJsonIsAnErrorNotAnException) {
  for (const char* text : {"", "{", "[]", R"({"driver":"vpnkit","pid":1,"start_time":1})", R"({"driver":"pasta"})",
                           R"({"driver":"pasta","pid":"x","start_time":1})"}) {
    auto r = record_from_json(text);
    ASSERT_FALSE(r.has_value()) << text;
    EXPECT_TRUE(r.error().is(Errc::corrupt)) << text;
  }
}

// fuzz_state_rows failed on such rows (corpus/state_rows/helper_numbers.json): numbers were
// converted to whatever their field holds (a port of -1 became 65535, a pid of 2^32 + 1 the pid 1)
// and a float out of range was undefined behaviour.
TEST(Record, NumbersThatDoNotFitAreCorrupt) {
  const std::string fwd = R"(,"forwards":[{"host_ip":"","host_port":8080,"container_port":80,"protocol":"tcp"}]})";
  ASSERT_OK(record_from_json(R"({"driver":"pasta","pid":42,"start_time":7)" + fwd));
  for (std::string text : {R"({"driver":"pasta","pid":4294967297,"start_time":7})",
                           R"({"driver":"pasta","pid":1e300,"start_time":7})",
                           R"({"driver":"pasta","pid":42.5,"start_time":7})",
                           R"({"driver":"pasta","pid":42,"start_time":-1})",
                           R"({"driver":"pasta","pid":42,"start_time":7,"forwards":[{"host_port":-1,"container_port":80}]})",
                           R"({"driver":"pasta","pid":42,"start_time":7,"forwards":[{"host_port":8080,"container_port":65536}]})",
                           R"({"driver":"pasta","pid":42,"start_time":7,"forwards":[{"host_port":80,"container_port":80,"id":1e10}]})"}) {
    auto r = record_from_json(text);
    ASSERT_FALSE(r.has_value()) << text;
    EXPECT_TRUE(r.error().is(Errc::corrupt)) << text;
  }
}

TEST(PrivilegedPort, RootMayUseAnyPort) {
  PODNS_REQUIRE_ROOT();
  EXPECT_OK(check_host_port_allowed({"", 80, 80, Proto::tcp, -1}));
}

}  // namespace
}  // namespace podns::rootless
