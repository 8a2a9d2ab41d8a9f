// IPAM: range validation, host-local's round-robin order kept in the state database, requested
// addresses, exhaustion, and distinct addresses for many processes at once.
#include "podns/network/ipam.hpp"
#include "podns/network/network.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace podns::network {
namespace {

using podns::test::TempDir;

IpAddr ip(std::string_view text) { return IpAddr::parse(text).value(); }
Cidr cidr(std::string_view text) { return Cidr::parse(text).value(); }

// --- IpRange::make ---

TEST(IpRange, DefaultsToTheWholeSubnetWithTheFirstHostAsGateway) {
  auto r = IpRange::make(cidr("10.89.0.0/24"));
  ASSERT_OK(r);
  EXPECT_EQ(r->gateway, ip("10.89.0.1"));
  EXPECT_EQ(r->start, ip("10.89.0.1"));  // the gateway is skipped when allocating
  EXPECT_EQ(r->end, ip("10.89.0.254"));  // not the broadcast
  EXPECT_EQ(r->key(), "10.89.0.0/24");

  auto v6 = IpRange::make(cidr("fd00:1::/64"));
  ASSERT_OK(v6);
  EXPECT_EQ(v6->gateway, ip("fd00:1::1"));
  EXPECT_EQ(v6->start, ip("fd00:1::1"));
  EXPECT_EQ(v6->end, ip("fd00:1::ffff:ffff:ffff:ffff"));  // IPv6 has no broadcast

  auto gw = IpRange::make(cidr("10.89.0.0/24"), ip("10.89.0.254"));
  ASSERT_OK(gw);
  EXPECT_EQ(gw->gateway, ip("10.89.0.254"));
}

TEST(IpRange, RejectsAGatewayOutsideTheSubnet) {
  for (auto [gw, why] : {std::pair{"10.89.1.1", "gateway 10.89.1.1 is outside the subnet"},
                         std::pair{"10.89.0.0", "gateway 10.89.0.0 is the network address"},
                         std::pair{"10.89.0.255", "gateway 10.89.0.255 is the broadcast address"},
                         std::pair{"fd00::1", "gateway fd00::1 is not an IPv4 address"}}) {
    auto r = IpRange::make(cidr("10.89.0.0/24"), ip(gw));
    ASSERT_FALSE(r) << gw;
    EXPECT_TRUE(r.error().is(Errc::invalid_argument));
    EXPECT_NE(r.error().message().find(why), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find("subnet 10.89.0.0/24"), std::string::npos) << r.error().message();
  }
}

TEST(IpRange, RejectsSubnetsTooSmallForAGatewayAndAPod) {
  for (auto small : {"10.0.0.0/31", "10.0.0.1/32", "fd00::/127", "fd00::1/128"}) {
    auto r = IpRange::make(cidr(small));
    ASSERT_FALSE(r) << small;
    EXPECT_TRUE(r.error().is(Errc::invalid_argument));
    EXPECT_NE(r.error().message().find("too small"), std::string::npos) << r.error().message();
  }
  // The smallest that fit: .1 gateway and .2 for one pod; ::1 and ::2, ::3.
  auto v4 = IpRange::make(cidr("10.0.0.0/30"));
  ASSERT_OK(v4);
  EXPECT_EQ(v4->end, ip("10.0.0.2"));
  auto v6 = IpRange::make(cidr("fd00::/126"));
  ASSERT_OK(v6);
  EXPECT_EQ(v6->end, ip("fd00::3"));
}

TEST(IpRange, IpRangeInsideTheSubnet) {
  auto upper = IpRange::make(cidr("10.89.0.0/24"), {}, cidr("10.89.0.128/25"));
  ASSERT_OK(upper);
  EXPECT_EQ(upper->start, ip("10.89.0.128"));
  EXPECT_EQ(upper->end, ip("10.89.0.254"));  // the broadcast stays out
  EXPECT_EQ(upper->gateway, ip("10.89.0.1"));
  auto lower = IpRange::make(cidr("10.89.0.0/24"), {}, cidr("10.89.0.0/25"));
  ASSERT_OK(lower);
  EXPECT_EQ(lower->start, ip("10.89.0.1"));  // the network address stays out
  EXPECT_EQ(lower->end, ip("10.89.0.127"));
  auto same = IpRange::make(cidr("10.89.0.0/24"), {}, cidr("10.89.0.0/24"));
  ASSERT_OK(same);
  EXPECT_EQ(same->end, ip("10.89.0.254"));

  for (auto [range, why] : {std::pair{"10.90.0.0/25", "range 10.90.0.0/25 is outside the subnet"},
                            std::pair{"10.0.0.0/8", "range 10.0.0.0/8 is outside the subnet"},  // bigger
                            std::pair{"fd00::/64", "outside the subnet"},
                            std::pair{"10.89.0.1/32", "has no address to hand out"},     // only the gateway
                            std::pair{"10.89.0.255/32", "has no address to hand out"}}) {  // the broadcast
    auto r = IpRange::make(cidr("10.89.0.0/24"), {}, cidr(range));
    ASSERT_FALSE(r) << range;
    EXPECT_TRUE(r.error().is(Errc::invalid_argument));
    EXPECT_NE(r.error().message().find(why), std::string::npos) << r.error().message();
  }
}

TEST(IpRange, CapacityLeavesTheGatewayOut) {
  EXPECT_EQ(IpRange::make(cidr("10.89.0.0/24"))->capacity(), 253u);  // .1 is the gateway, .255 broadcast
  EXPECT_EQ(IpRange::make(cidr("10.89.0.0/30"))->capacity(), 1u);
  EXPECT_EQ(IpRange::make(cidr("10.89.0.0/24"), {}, cidr("10.89.0.128/25"))->capacity(), 127u);
  // ::1 .. ffff:ffff:ffff:ffff less the gateway: 2^64 - 2 still fits; a wider subnet saturates.
  EXPECT_EQ(IpRange::make(cidr("fd00::/64"))->capacity(), UINT64_MAX - 1);
  EXPECT_EQ(IpRange::make(cidr("fd00::/48"))->capacity(), UINT64_MAX);
}

// host-local's rangeStart/rangeEnd through a network definition (podns-bridge configs).
TEST(NetworkDefinition, RangeStartAndEndNarrowTheRange) {
  NetworkOptions o{.name = "k8s",
                   .subnets = {{.subnet = "10.244.1.0/24",
                                .gateway = "10.244.1.254",
                                .range_start = "10.244.1.10",
                                .range_end = "10.244.1.20"}},
                   .bridge = "cni9"};
  auto n = make_network(o, {}, {});
  ASSERT_OK(n);
  EXPECT_EQ(n->ranges[0].start, ip("10.244.1.10"));
  EXPECT_EQ(n->ranges[0].end, ip("10.244.1.20"));
  EXPECT_EQ(n->ranges[0].gateway, ip("10.244.1.254"));
  // The stored definition gives the same network back, flags included.
  n->masquerade = false;
  auto back = Network::from_record(n->record());
  ASSERT_OK(back);
  EXPECT_TRUE(back->same_definition(*n));
  EXPECT_FALSE(back->masquerade);
  auto other = *n;
  other.ranges[0].end = ip("10.244.1.21");
  EXPECT_FALSE(other.same_definition(*n));
  for (auto [start, end, why] : {std::tuple{"10.244.2.1", "", "range start 10.244.2.1 is outside the subnet"},
                                 std::tuple{"10.244.1.30", "10.244.1.20", "has no address to hand out"},
                                 std::tuple{"", "nope", "range end"}}) {
    o.subnets[0].range_start = start;
    o.subnets[0].range_end = end;
    auto bad = make_network(o, {}, {});
    ASSERT_FALSE(bad) << start << "-" << end;
    EXPECT_NE(bad.error().message().find(why), std::string::npos) << bad.error().message();
  }
}

// --- allocate ---

class Ipam : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = state::Store::open(dir_ / "podns.db");
    ASSERT_OK(s);
    store_.emplace(std::move(*s));
    ASSERT_OK(store().insert_network({"n", "bridge", "podns1", "{}", 0}));
  }
  state::Store& store() { return *store_; }

  // A pod with a native attachment 0 on n: what a lease belongs to.
  void add_pod(const std::string& pod) {
    ASSERT_OK(store().insert_pod({pod, state::PodPhase::creating, "{}", "", "", 0}, {}));
    state::AttachmentRecord a{pod, 0, "n", "eth0", "", "", "", "", "", state::RowState::intent};
    a.driver = state::AttachmentDriver::native;
    ASSERT_OK(store().record_attachment_intent(a));
  }
  // A new pod and its address; "" on failure (the test fails too).
  std::string next(const IpRange& r, const std::string& pod) {
    add_pod(pod);
    auto a = allocate(store(), "n", r, pod, 0);
    EXPECT_TRUE(a.has_value()) << pod << ": " << (a ? "" : a.error().message());
    return a ? a->str() : "";
  }

  TempDir dir_;
  std::optional<state::Store> store_;
};

TEST_F(Ipam, HandsOutAddressesInOrderSkippingTheGateway) {
  auto r = IpRange::make(cidr("10.89.0.0/24")).value();
  EXPECT_EQ(next(r, "a"), "10.89.0.2");
  EXPECT_EQ(next(r, "b"), "10.89.0.3");
  EXPECT_EQ(next(r, "c"), "10.89.0.4");
  auto held = store().lease_of("n", "10.89.0.3");
  ASSERT_OK(held);
  ASSERT_TRUE(held->has_value());
  EXPECT_EQ((*held)->pod, "b");
  EXPECT_EQ(*store().ipam_cursor("n", r.key()), "10.89.0.4");

  // A gateway in the middle is stepped over too.
  ASSERT_OK(store().insert_network({"m", "bridge", "podns2", "{}", 0}));
  auto mid = IpRange::make(cidr("10.0.0.0/29"), ip("10.0.0.3")).value();
  std::vector<std::string> got;
  for (auto pod : {"d", "e", "f"}) {
    add_pod(pod);
    auto a = allocate(store(), "m", mid, pod, 0);
    ASSERT_OK(a);
    got.push_back(a->str());
  }
  EXPECT_EQ(got, (std::vector<std::string>{"10.0.0.1", "10.0.0.2", "10.0.0.4"}));
}

TEST_F(Ipam, AFreedAddressIsNotReusedAtOnce) {
  auto r = IpRange::make(cidr("10.89.0.0/24")).value();
  next(r, "a");
  EXPECT_EQ(next(r, "b"), "10.89.0.3");
  next(r, "c");
  ASSERT_OK(store().delete_pod("b"));  // its lease goes with it
  EXPECT_EQ(next(r, "d"), "10.89.0.5");
  EXPECT_EQ(next(r, "e"), "10.89.0.6");
}

TEST_F(Ipam, WrapsAroundToTheStartAndSkipsWhatIsTaken) {
  // 10.0.0.0/29: .1 gateway, .2-.6 for pods, .7 broadcast.
  auto r = IpRange::make(cidr("10.0.0.0/29")).value();
  for (int i = 2; i <= 6; ++i) EXPECT_EQ(next(r, "p" + std::to_string(i)), "10.0.0." + std::to_string(i));
  ASSERT_OK(store().delete_pod("p4"));
  ASSERT_OK(store().delete_pod("p3"));
  // The cursor is at .6: the next turn starts over at .2 (taken), then .3.
  EXPECT_EQ(next(r, "q"), "10.0.0.3");
  EXPECT_EQ(next(r, "s"), "10.0.0.4");
}

TEST_F(Ipam, AFullRangeGivesEaddrnotavailAndChangesNothing) {
  auto r = IpRange::make(cidr("10.0.0.0/29")).value();
  for (int i = 2; i <= 6; ++i) next(r, "p" + std::to_string(i));
  add_pod("late");
  auto full = allocate(store(), "n", r, "late", 0);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().sys_errno(), EADDRNOTAVAIL) << full.error().message();
  EXPECT_NE(full.error().message().find("allocate an address in 10.0.0.0/29 of network n for pod late"),
            std::string::npos)
      << full.error().message();
  EXPECT_EQ(store().leases("n")->size(), 5u);
  EXPECT_EQ(*store().ipam_cursor("n", r.key()), "10.0.0.6");
  // One address freed: that one, whatever the cursor says.
  ASSERT_OK(store().delete_pod("p3"));
  auto a = allocate(store(), "n", r, "late", 0);
  ASSERT_OK(a);
  EXPECT_EQ(a->str(), "10.0.0.3");
}

TEST_F(Ipam, RequestedAddress) {
  auto r = IpRange::make(cidr("10.89.0.0/24"), {}, cidr("10.89.0.0/25")).value();
  add_pod("a");
  auto want = allocate(store(), "n", r, "a", 0, ip("10.89.0.50"));
  ASSERT_OK(want);
  EXPECT_EQ(want->str(), "10.89.0.50");
  // The round-robin order of the others is left alone.
  EXPECT_EQ(*store().ipam_cursor("n", r.key()), "");
  EXPECT_EQ(next(r, "b"), "10.89.0.2");

  add_pod("c");
  auto taken = allocate(store(), "n", r, "c", 0, ip("10.89.0.50"));
  ASSERT_FALSE(taken);
  EXPECT_TRUE(taken.error().is(Errc::already_exists));
  EXPECT_NE(taken.error().message().find("10.89.0.50 is leased to pod a"), std::string::npos)
      << taken.error().message();
  for (auto [addr, why] : {std::pair{"10.89.0.200", "outside the range 10.89.0.1-10.89.0.127"},
                           std::pair{"10.89.1.5", "outside the range"},
                           std::pair{"fd00::5", "outside the range"},
                           std::pair{"10.89.0.1", "10.89.0.1 is the gateway"}}) {
    auto bad = allocate(store(), "n", r, "c", 0, ip(addr));
    ASSERT_FALSE(bad) << addr;
    EXPECT_TRUE(bad.error().is(Errc::invalid_argument)) << bad.error().message();
    EXPECT_NE(bad.error().message().find(why), std::string::npos) << bad.error().message();
  }
  EXPECT_EQ(store().attachment_leases("c", 0)->size(), 0u);
}

TEST_F(Ipam, IPv6) {
  auto r = IpRange::make(cidr("fd00:1::/64")).value();
  EXPECT_EQ(next(r, "a"), "fd00:1::2");
  EXPECT_EQ(next(r, "b"), "fd00:1::3");
  add_pod("c");
  auto want = allocate(store(), "n", r, "c", 0, ip("FD00:1::ABCD"));
  ASSERT_OK(want);
  EXPECT_EQ(want->str(), "fd00:1::abcd");
  EXPECT_TRUE(store().lease_of("n", "fd00:1::abcd")->has_value());

  // A /125: ::1 gateway, ::2-::7 for pods; then full, and around again after a release.
  ASSERT_OK(store().insert_network({"m", "bridge", "podns2", "{}", 0}));
  auto small = IpRange::make(cidr("fd00:2::/125")).value();
  std::vector<std::string> got;
  for (int i = 0; i < 6; ++i) {
    std::string pod = "s" + std::to_string(i);
    add_pod(pod);
    auto a = allocate(store(), "m", small, pod, 0);
    ASSERT_OK(a);
    got.push_back(a->str());
  }
  EXPECT_EQ(got, (std::vector<std::string>{"fd00:2::2", "fd00:2::3", "fd00:2::4", "fd00:2::5", "fd00:2::6",
                                           "fd00:2::7"}));
  add_pod("t");
  EXPECT_EQ(allocate(store(), "m", small, "t", 0).error().sys_errno(), EADDRNOTAVAIL);
  ASSERT_OK(store().delete_pod("s1"));
  EXPECT_EQ(allocate(store(), "m", small, "t", 0)->str(), "fd00:2::3");
}

TEST_F(Ipam, JoinsTheCallersTransaction) {
  auto r = IpRange::make(cidr("10.89.0.0/24")).value();
  auto failed = store().transaction([&]() -> Status {
    add_pod("a");
    auto a = allocate(store(), "n", r, "a", 0);
    if (!a) return fail(a.error());
    return fail(Errc::plugin_failed, "the veth could not be made");
  });
  ASSERT_FALSE(failed);
  // The intent, the lease and the cursor went together.
  EXPECT_TRUE(store().get_pod("a").error().is(Errc::not_found));
  EXPECT_TRUE(store().all_leases()->empty());
  EXPECT_EQ(*store().ipam_cursor("n", r.key()), "");
  EXPECT_EQ(next(r, "a"), "10.89.0.2");
}

TEST_F(Ipam, AnInvertedRangeIsRefused) {
  add_pod("a");
  IpRange inverted{cidr("10.89.0.0/24"), ip("10.89.0.9"), ip("10.89.0.5"), ip("10.89.0.1")};
  auto r = allocate(store(), "n", inverted, "a", 0);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::invalid_argument)) << r.error().message();
}

TEST_F(Ipam, ACursorOutsideTheRangeStartsFromTheBeginning) {
  auto r = IpRange::make(cidr("10.89.0.0/24"), {}, cidr("10.89.0.64/26")).value();
  ASSERT_OK(store().set_ipam_cursor("n", r.key(), "10.89.0.200"));  // the range was narrowed
  EXPECT_EQ(next(r, "a"), "10.89.0.64");
  ASSERT_OK(store().set_ipam_cursor("n", r.key(), "garbage"));
  EXPECT_EQ(next(r, "b"), "10.89.0.65");
}

// --- many processes at once ---

TEST(IpamConcurrency, ThirtyTwoProcessesGetDistinctAddresses) {
  constexpr int kProcs = 32;
  TempDir dir;
  const std::string path = dir / "podns.db";
  // Every child is forked before this process opens any SQLite handle (a handle must never
  // cross a fork), then waits until the network exists: the parent closes `go` to start them
  // all at once.
  int go[2], out[2];
  ASSERT_EQ(pipe2(go, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  std::vector<pid_t> kids;
  for (int i = 0; i < kProcs; ++i) {
    pid_t pid = fork();
    if (pid < 0) break;  // EXPECTed below; the children already forked are still reaped
    if (pid == 0) {
      close(go[1]);
      close(out[0]);
      char c;
      while (read(go[0], &c, 1) < 0 && errno == EINTR) {
      }
      int code = 0;
      {
        auto store = state::Store::open(path, std::chrono::seconds(60));
        if (!store) _exit(10);
        auto range = IpRange::make(Cidr::parse("10.89.0.0/24").value());
        if (!range) _exit(11);
        std::string pod = "p" + std::to_string(i);
        std::string line;
        auto s = store->transaction([&]() -> Status {
          if (auto s = store->insert_pod({pod, state::PodPhase::creating, "{}", "", "", 0}, {}); !s) return s;
          state::AttachmentRecord a{pod, 0, "n", "eth0", "", "", "", "", "", state::RowState::intent};
          a.driver = state::AttachmentDriver::native;
          if (auto s = store->record_attachment_intent(a); !s) return s;
          auto addr = allocate(*store, "n", *range, pod, 0);
          if (!addr) return fail(addr.error());
          line = pod + " " + addr->str() + "\n";
          return {};
        });
        if (!s) {
          line = pod + " error " + s.error().message() + "\n";
          code = 12;
        }
        (void)!write(out[1], line.data(), line.size());  // < PIPE_BUF: one piece
      }
      _exit(code);
    }
    kids.push_back(pid);
  }
  close(go[0]);
  close(out[1]);
  {
    auto store = state::Store::open(path);
    EXPECT_OK(store);
    if (store) EXPECT_OK(store->insert_network({"n", "bridge", "podns1", "{}", 0}));
  }
  close(go[1]);  // go
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = read(out[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);
  for (pid_t k : kids) {
    int status = 0;
    EXPECT_EQ(waitpid(k, &status, 0), k);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status << "\n" << text;
  }
  ASSERT_EQ(kids.size(), static_cast<size_t>(kProcs));

  std::map<std::string, std::string> by_pod;
  std::set<std::string> addresses;
  std::istringstream lines(text);
  for (std::string pod, addr; lines >> pod >> addr;) {
    by_pod[pod] = addr;
    addresses.insert(addr);
  }
  EXPECT_EQ(by_pod.size(), static_cast<size_t>(kProcs)) << text;
  EXPECT_EQ(addresses.size(), static_cast<size_t>(kProcs)) << text;
  // Round-robin from the start with nothing freed: exactly .2 .. .33, whoever got which.
  for (int i = 2; i < 2 + kProcs; ++i) EXPECT_EQ(addresses.count("10.89.0." + std::to_string(i)), 1u) << i;
  // And the database agrees with what each process was told.
  auto store = state::Store::open(path);
  ASSERT_OK(store);
  auto leases = store->leases("n");
  ASSERT_OK(leases);
  ASSERT_EQ(leases->size(), static_cast<size_t>(kProcs));
  for (const auto& l : *leases) EXPECT_EQ(by_pod[l.pod], l.address);
}

}  // namespace
}  // namespace podns::network
