// `podns pod stats` end to end: the real CLI binary reading pods from the real state store and
// counters from network namespaces this test created (pinned in its TempDir, links made with
// iproute2, traffic sent between two of them), checked against `ip -s -j link`.
#include <nlohmann/json.hpp>

#include "../net/netns_fixture.hpp"
#include "podns/state/store.hpp"
#include "test_support.hpp"

namespace podns {
namespace {

using nlohmann::json;
using test::run_podns;
using test::TempDir;
using test::TestNetns;

// A private run dir + state dir, with pods registered in the state store the way `pod create`
// leaves them (phase ready, sandbox key set) but with network namespaces this test built itself.
struct StatsWorld {
  TempDir dir{"stats"};
  std::string run_dir = dir / "run";
  std::string state_dir = dir / "state";

  std::vector<std::string> flags() const { return {"--run-dir", run_dir, "--state-dir", state_dir}; }
  test::CommandResult podns(std::vector<std::string> args) const {
    auto all = flags();
    all.insert(all.end(), args.begin(), args.end());
    return run_podns(all);
  }
  Status add_pod(const std::string& name, const std::string& netns_path, state::PodPhase phase = state::PodPhase::ready) {
    auto store = state::Store::open(state_dir + "/podns.db");
    if (!store) return fail(store.error());
    state::PodRecord rec;
    rec.name = name;
    rec.spec = "{}";
    if (auto st = store->insert_pod(rec, {}); !st) return st;
    if (auto st = store->set_pod_paths(name, netns_path, ""); !st) return st;
    return store->set_pod_phase(name, phase);
  }
};

// Two pods joined by a veth pair (eth0 in each), with `datagrams` UDP datagrams sent a -> b.
struct TwoPods {
  TestNetns a, b;
  explicit TwoPods(const TempDir& dir) : a(dir / "ns-a"), b(dir / "ns-b") {}
  std::string setup(int datagrams) {
    if (!a.ok()) return a.error();
    if (!b.ok()) return b.error();
    for (auto err : {a.ip({"link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", b.path()}),
                     a.ip({"addr", "add", "10.79.0.1/24", "dev", "eth0"}), b.ip({"addr", "add", "10.79.0.2/24", "dev", "eth0"}),
                     a.ip({"link", "set", "eth0", "up"}), b.ip({"link", "set", "eth0", "up"}),
                     a.ip({"link", "set", "lo", "up"}), a.wait_up("eth0"), b.wait_up("eth0"),
                     // A static neighbour: no ARP, so every datagram is on the wire (and counted)
                     // when sendto() returns.
                     a.ip({"neigh", "replace", "10.79.0.2", "lladdr", b.mac_of("eth0"), "dev", "eth0", "nud", "permanent"}),
                     b.ip({"neigh", "replace", "10.79.0.1", "lladdr", a.mac_of("eth0"), "dev", "eth0", "nud", "permanent"})})
      if (!err.empty()) return err;
    if (test::send_udp_from(a.path(), "10.79.0.2", 9, datagrams, 100) != datagrams) return "send failed";
    return {};
  }
};

json ip_stats64(const TestNetns& ns, const std::string& dev) {
  json j = json::parse(ns.ip_json({"-s", "link", "show", "dev", dev}), nullptr, false);
  return j.is_array() && !j.empty() ? j[0]["stats64"] : json();
}

const json* find_pod(const json& doc, const std::string& name) {
  for (const json& p : doc)
    if (p["pod"] == name) return &p;
  return nullptr;
}

TEST(PodStatsCli, JsonMatchesIpForEveryPodAndLeavesLoopbackOut) {
  REQUIRE_NETNS_TOOLS();
  StatsWorld w;
  TwoPods pods(w.dir);
  ASSERT_EQ(pods.setup(7), "");
  ASSERT_OK(w.add_pod("alpha", pods.a.path()));
  ASSERT_OK(w.add_pod("beta", pods.b.path()));

  // Compare only once the counters have settled (a late ARP reply could move them).
  for (int attempt = 0; attempt < 40; ++attempt) {
    json ip_a = ip_stats64(pods.a, "eth0");
    json ip_b = ip_stats64(pods.b, "eth0");
    auto r = w.podns({"pod", "stats", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    if (ip_a != ip_stats64(pods.a, "eth0") || ip_b != ip_stats64(pods.b, "eth0")) continue;
    json doc = json::parse(r.out);
    ASSERT_EQ(doc.size(), 2u) << doc.dump();
    const json* alpha = find_pod(doc, "alpha");
    const json* beta = find_pod(doc, "beta");
    ASSERT_TRUE(alpha && beta) << doc.dump();
    EXPECT_EQ((*alpha)["netns"], pods.a.path());
    ASSERT_EQ((*alpha)["interfaces"].size(), 1u) << "lo must not be listed: " << doc.dump();
    const json& ea = (*alpha)["interfaces"][0];
    EXPECT_EQ(ea["ifname"], "eth0");
    EXPECT_EQ(ea["kind"], "veth");
    for (const char* dir : {"rx", "tx"})
      for (const char* k : {"bytes", "packets", "errors", "dropped"}) {
        EXPECT_EQ(ea["stats64"][dir][k], ip_a[dir][k]) << dir << " " << k;
        EXPECT_EQ((*beta)["interfaces"][0]["stats64"][dir][k], ip_b[dir][k]) << dir << " " << k;
      }
    EXPECT_GE(ea["stats64"]["tx"]["packets"].get<int>(), 7);
    EXPECT_GE((*beta)["interfaces"][0]["stats64"]["rx"]["bytes"].get<int>(), 7 * 142);
    return;
  }
  FAIL() << "counters never settled";
}

TEST(PodStatsCli, TableHasTheColumnsAndOneRowPerInterface) {
  REQUIRE_NETNS_TOOLS();
  StatsWorld w;
  TwoPods pods(w.dir);
  ASSERT_EQ(pods.setup(3), "");
  ASSERT_OK(w.add_pod("alpha", pods.a.path()));
  ASSERT_OK(w.add_pod("beta", pods.b.path()));
  auto r = w.podns({"pod", "stats", "alpha"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string header, row, extra;
  std::getline(lines, header);
  std::getline(lines, row);
  EXPECT_FALSE(std::getline(lines, extra)) << r.out;
  std::istringstream hs(header);
  std::vector<std::string> cols{std::istream_iterator<std::string>(hs), {}};
  EXPECT_EQ(cols, (std::vector<std::string>{"POD", "IFACE", "RX-BYTES", "RX-PKTS", "RX-ERR", "RX-DROP", "TX-BYTES",
                                            "TX-PKTS", "TX-ERR", "TX-DROP"}));
  std::istringstream rs(row);
  std::vector<std::string> cells{std::istream_iterator<std::string>(rs), {}};
  ASSERT_EQ(cells.size(), 10u) << row;
  EXPECT_EQ(cells[0], "alpha");
  EXPECT_EQ(cells[1], "eth0");
  EXPECT_GE(std::stoi(cells[7]), 3);  // TX-PKTS
}

TEST(PodStatsCli, WatchRedrawsCountFramesWithAnsiClear) {
  REQUIRE_NETNS_TOOLS();
  StatsWorld w;
  TwoPods pods(w.dir);
  ASSERT_EQ(pods.setup(1), "");
  ASSERT_OK(w.add_pod("alpha", pods.a.path()));
  auto r = w.podns({"pod", "stats", "--watch", "--count", "3", "--interval", "0.1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::size_t frames = 0;
  for (std::size_t pos = 0; (pos = r.out.find("\033[H\033[2J", pos)) != std::string::npos; ++pos) ++frames;
  EXPECT_EQ(frames, 3u) << r.out;
  std::size_t headers = 0;
  for (std::size_t pos = 0; (pos = r.out.find("RX-BYTES", pos)) != std::string::npos; ++pos) ++headers;
  EXPECT_EQ(headers, 3u);

  auto j = w.podns({"pod", "stats", "--watch", "--json", "--count", "2", "--interval", "0.1"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  EXPECT_EQ(j.out.find('\033'), std::string::npos) << "no screen control in JSON mode";
  std::istringstream docs(j.out);
  int n = 0;
  for (std::string line; std::getline(docs, line); ++n) {
    json doc = json::parse(line, nullptr, false);
    ASSERT_TRUE(doc.is_array()) << line;
    EXPECT_EQ(doc[0]["pod"], "alpha");
  }
  EXPECT_EQ(n, 2);
}

TEST(PodStatsCli, UnknownPodAndUsageErrors) {
  REQUIRE_NETNS_TOOLS();
  StatsWorld w;
  auto none = w.podns({"pod", "stats", "--json"});
  ASSERT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(json::parse(none.out), json::array());

  auto missing = w.podns({"pod", "stats", "ghost"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("podns: "), std::string::npos);
  EXPECT_NE(missing.err.find("ghost"), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("not found"), std::string::npos) << missing.err;

  auto count_alone = w.podns({"pod", "stats", "--count", "2"});
  EXPECT_EQ(count_alone.exit_code, 2) << count_alone.err;
  auto bad_interval = w.podns({"pod", "stats", "--watch", "--interval", "0"});
  EXPECT_EQ(bad_interval.exit_code, 2) << bad_interval.err;
}

TEST(PodStatsCli, PodNotReadyIsRefusedByName) {
  REQUIRE_NETNS_TOOLS();
  StatsWorld w;
  TestNetns ns(w.dir / "ns");
  ASSERT_TRUE(ns.ok()) << ns.error();
  ASSERT_OK(w.add_pod("half", ns.path(), state::PodPhase::creating));
  auto r = w.podns({"pod", "stats", "half"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("pod half is creating, not ready"), std::string::npos) << r.err;
  auto all = w.podns({"pod", "stats", "--json"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(json::parse(all.out), json::array());
}

TEST(PodStatsCli, PodWhoseNetnsIsGoneIsReportedAndTheOthersStillShown) {
  REQUIRE_NETNS_TOOLS();
  StatsWorld w;
  TwoPods pods(w.dir);
  ASSERT_EQ(pods.setup(1), "");
  ASSERT_OK(w.add_pod("alpha", pods.a.path()));
  ASSERT_OK(w.add_pod("lost", w.dir / "no-such-pin"));
  auto r = w.podns({"pod", "stats", "--json"});
  EXPECT_EQ(r.exit_code, 1);
  json doc = json::parse(r.out);
  ASSERT_EQ(doc.size(), 2u);
  const json* alpha = find_pod(doc, "alpha");
  const json* lost = find_pod(doc, "lost");
  ASSERT_TRUE(alpha && lost);
  EXPECT_EQ((*alpha)["interfaces"].size(), 1u);
  EXPECT_FALSE(lost->contains("interfaces"));
  EXPECT_NE((*lost)["error"].get<std::string>().find("stats of pod lost"), std::string::npos) << doc.dump();
  EXPECT_NE(r.err.find("podns: stats of some pods could not be read"), std::string::npos) << r.err;

  auto table = w.podns({"pod", "stats"});
  EXPECT_EQ(table.exit_code, 1);
  EXPECT_NE(table.out.find("alpha"), std::string::npos);
  EXPECT_NE(table.err.find("podns: stats of pod lost: "), std::string::npos) << table.err;

  auto one = w.podns({"pod", "stats", "lost"});
  EXPECT_EQ(one.exit_code, 1);
  EXPECT_NE(one.err.find("stats of pod lost: netns"), std::string::npos) << one.err;
}

TEST(PodStatsCli, RealPodWithPastaNetworking) {
  REQUIRE_NETNS_TOOLS();
  PODNS_REQUIRE_TOOL("pasta", "passt");
  StatsWorld w;
  std::string name = test::unique_name("fst");
  auto created = w.podns({"pod", "create", name, "--rootless-net", "pasta"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  auto r = w.podns({"pod", "stats", name, "--json"});
  auto removed = w.podns({"pod", "rm", name});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
  json doc = json::parse(r.out);
  ASSERT_EQ(doc.size(), 1u);
  EXPECT_EQ(doc[0]["pod"], name);
  ASSERT_GE(doc[0]["interfaces"].size(), 1u) << doc.dump();
  for (const json& i : doc[0]["interfaces"]) EXPECT_NE(i["ifname"], "lo");
}

}  // namespace
}  // namespace podns
