// The runtime's verbs against fake plugins: chaining, rollback, best-effort DEL, CHECK, STATUS, GC,
// version negotiation and conversion, bad input. Each plugin call is a real process.
#include <gtest/gtest.h>

#include "cni_test_util.hpp"
#include "podns/cni/runtime.hpp"

namespace podns::cni {
namespace {

using nlohmann::json;
using test::FakeBin;

struct RuntimeFake : ::testing::Test {
  void SetUp() override {
    PODNS_REQUIRE_TOOL("/usr/bin/python3", "python3");
    for (auto t : {"a", "b", "c", "d"}) bin.install(t);
    bin.install("old", {"0.3.0", "0.3.1", "0.4.0", "1.0.0"});
    bin.install("ancient", {"0.3.1", "0.4.0"});
    RuntimeOptions o;
    o.plugin_dirs = {bin.path()};
    o.cache_dir = cache.path();
    o.on_warning = [this](const Error& e) { warnings.push_back(e.message()); };
    rt = std::make_unique<Runtime>(o);
    conf.container_id = "ctr1";
    conf.netns = "/run/netns/nonexistent-test";
    conf.args = {{"K8S_POD_NAME", "web"}};
    conf.capability_args = {{"portMappings", json::array({{{"hostPort", 8080}, {"containerPort", 80}, {"protocol", "tcp"}}})},
                            {"mac", "02:11:22:33:44:55"}};
  }
  // A list of fake plugins; `extra[i]` is merged into plugin i's "fake" object.
  NetworkConfigList net(const std::string& version, std::vector<std::string> types, std::vector<json> extra = {},
                        json top = json::object()) {
    json doc = top;
    doc["cniVersion"] = version;
    doc["name"] = "fnet";
    doc["plugins"] = json::array();
    for (std::size_t i = 0; i < types.size(); ++i) {
      json fake = {{"log", bin.log()}};
      if (i < extra.size() && extra[i].is_object()) fake.update(extra[i]);
      json p = {{"type", types[i]}, {"fake", fake}};
      if (types[i] == "c") p["capabilities"] = {{"portMappings", true}, {"bandwidth", true}, {"mac", false}};
      doc["plugins"].push_back(p);
    }
    auto l = parse_network_list(doc.dump());
    EXPECT_TRUE(l.has_value()) << l.error().message();
    return *l;
  }
  std::vector<std::string> sequence() {
    std::vector<std::string> s;
    for (auto& c : bin.calls()) s.push_back(c["command"].get<std::string>() + " " + c["type"].get<std::string>());
    return s;
  }
  std::string cache_file(const std::string& cid = "ctr1") { return cache / ("results/fnet-" + cid + "-eth0"); }

  FakeBin bin;
  podns::test::TempDir cache{"cnicache"};
  std::unique_ptr<Runtime> rt;
  RuntimeConf conf;
  std::vector<std::string> warnings;
};

TEST_F(RuntimeFake, AddChainsPrevResultAndCachesTheFinalResult) {
  auto n = net("1.0.0", {"a", "b", "c"}, {{{"ip", "10.9.0.5/24"}}});
  auto r = rt->add(n, conf);
  ASSERT_OK(r);
  EXPECT_EQ(r->cni_version, "1.0.0");
  ASSERT_EQ(r->interfaces.size(), 3u);
  EXPECT_EQ(r->interfaces[0].name, "a-eth0");
  EXPECT_EQ(r->interfaces[2].name, "c-eth0");
  ASSERT_EQ(r->ips.size(), 1u);
  EXPECT_EQ(r->ips[0].address, "10.9.0.5/24");

  auto calls = bin.calls();
  ASSERT_EQ(sequence(), (std::vector<std::string>{"ADD a", "ADD b", "ADD c"}));
  EXPECT_FALSE(calls[0]["conf"].contains("prevResult"));
  EXPECT_EQ(calls[1]["conf"]["prevResult"]["interfaces"][0]["name"], "a-eth0");
  EXPECT_EQ(calls[2]["conf"]["prevResult"]["interfaces"].size(), 2u);
  for (auto& c : calls) {
    EXPECT_EQ(c["conf"]["name"], "fnet");
    EXPECT_EQ(c["conf"]["cniVersion"], "1.0.0");
    EXPECT_FALSE(c["conf"].contains("capabilities"));
  }
  // runtimeConfig: only what the plugin declared and enabled (c: portMappings yes, mac false).
  EXPECT_FALSE(calls[0]["conf"].contains("runtimeConfig"));
  EXPECT_EQ(calls[2]["conf"]["runtimeConfig"], json({{"portMappings", conf.capability_args["portMappings"]}}));

  auto cached = json::parse(test::read_text(cache_file()));
  EXPECT_EQ(cached["kind"], "cniCacheV1");
  EXPECT_EQ(cached["netns"], conf.netns);
  EXPECT_EQ(cached["cniArgs"], json::parse(R"([["K8S_POD_NAME","web"]])"));
  EXPECT_EQ(cached["result"]["interfaces"].size(), 3u);
  auto cr = rt->cached_result("fnet", "ctr1", "eth0");
  ASSERT_OK(cr);
  EXPECT_EQ(*cr, *r);
  auto cfg = base64_decode(cached["config"].get<std::string>());
  ASSERT_OK(cfg);
  EXPECT_EQ(*cfg, n.bytes);
}

TEST_F(RuntimeFake, DelRunsInReverseWithCachedResultAndIsIdempotent) {
  auto n = net("1.0.0", {"a", "b", "c"}, {{{"ip", "10.9.0.5/24"}}});
  ASSERT_OK(rt->add(n, conf));
  ASSERT_OK(rt->del(n, conf));
  auto calls = bin.calls();
  ASSERT_EQ(sequence(), (std::vector<std::string>{"ADD a", "ADD b", "ADD c", "DEL c", "DEL b", "DEL a"}));
  for (int i = 3; i < 6; ++i) {
    EXPECT_EQ(calls[i]["conf"]["prevResult"]["interfaces"].size(), 3u);
    EXPECT_EQ(calls[i]["env"]["CNI_NETNS"], conf.netns);
  }
  EXPECT_EQ(calls[3]["conf"]["runtimeConfig"]["portMappings"][0]["hostPort"], 8080);
  EXPECT_FALSE(std::filesystem::exists(cache_file()));
  // Again, with no cache: still calls every plugin, without prevResult, and succeeds.
  ASSERT_OK(rt->del(n, conf));
  calls = bin.calls();
  ASSERT_EQ(calls.size(), 9u);
  EXPECT_FALSE(calls[8]["conf"].contains("prevResult"));
  EXPECT_TRUE(warnings.empty());
}

TEST_F(RuntimeFake, DelWithCorruptCacheWarnsAndProceeds) {
  auto n = net("1.0.0", {"a", "b"});
  ASSERT_OK(rt->add(n, conf));
  test::write_text(cache_file(), "{\"kind\":\"cniCacheV1\", garbage");
  RuntimeConf no_netns = conf;
  no_netns.netns.clear();
  ASSERT_OK(rt->del(n, no_netns));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("fnet-ctr1-eth0"), std::string::npos) << warnings[0];
  EXPECT_FALSE(std::filesystem::exists(cache_file()));
  auto calls = bin.calls();
  EXPECT_EQ(calls.back()["command"], "DEL");
  EXPECT_FALSE(calls.back()["conf"].contains("prevResult"));
}

TEST_F(RuntimeFake, DelUsesCachedNetnsWhenNoneIsGiven) {
  auto n = net("1.0.0", {"a"});
  ASSERT_OK(rt->add(n, conf));
  RuntimeConf no_netns = conf;
  no_netns.netns.clear();
  ASSERT_OK(rt->del(n, no_netns));
  EXPECT_EQ(bin.calls().back()["env"]["CNI_NETNS"], conf.netns);
}

TEST_F(RuntimeFake, DelCallsEveryPluginAndKeepsCacheWhenOneFails) {
  auto n = net("1.0.0", {"a", "b", "c"}, {{}, {{"fail", {{"DEL", {{"code", 11}, {"msg", "busy"}}}}}}});
  ASSERT_OK(rt->add(n, conf));
  auto st = rt->del(n, conf);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("plugin b (DEL): exit status 1: CNI error 11 (try again later): busy"),
            std::string::npos)
      << st.error().message();
  EXPECT_EQ(sequence(), (std::vector<std::string>{"ADD a", "ADD b", "ADD c", "DEL c", "DEL b", "DEL a"}));
  EXPECT_TRUE(std::filesystem::exists(cache_file()));  // a retry still has the result
}

TEST_F(RuntimeFake, FailedAddRollsBackWhatRan) {
  auto n = net("1.0.0", {"a", "b", "c", "d"}, {{}, {}, {{"fail", {{"ADD", {{"code", 7}, {"msg", "no"}}}}}}});
  auto r = rt->add(n, conf);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::plugin_failed));
  EXPECT_NE(r.error().message().find("cni add ctr1 to network fnet: plugin c (ADD)"), std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find("CNI error 7"), std::string::npos);
  EXPECT_EQ(sequence(), (std::vector<std::string>{"ADD a", "ADD b", "ADD c", "DEL c", "DEL b", "DEL a"}));
  // The rollback hands plugins what had been attached so far.
  EXPECT_EQ(bin.calls()[3]["conf"]["prevResult"]["interfaces"].size(), 2u);
  EXPECT_FALSE(std::filesystem::exists(cache_file()));
}

TEST_F(RuntimeFake, FailedAddReportsARollbackWhoseDelFailed) {
  // c's ADD fails; the rollback DELs c, b, a, and a's DEL fails too.
  auto n = net("1.0.0", {"a", "b", "c"},
               {{{"fail", {{"DEL", {{"code", 11}, {"msg", "a cannot DEL"}}}}}}, {}, {{"fail", {{"ADD", {{"code", 7}}}}}}});
  AddRollback rollback;
  auto r = rt->add(n, conf, &rollback);
  ASSERT_FALSE(r);
  EXPECT_EQ(sequence(), (std::vector<std::string>{"ADD a", "ADD b", "ADD c", "DEL c", "DEL b", "DEL a"}));
  EXPECT_TRUE(rollback.failed);
  ASSERT_EQ(rollback.errors.size(), 1u);
  EXPECT_NE(rollback.errors[0].message().find("a cannot DEL"), std::string::npos) << rollback.errors[0].message();
  // What the rollback handed the plugins, for whoever retries the DEL: a's and b's interfaces.
  ASSERT_TRUE(rollback.prev_result.has_value());
  ASSERT_EQ(rollback.prev_result->interfaces.size(), 2u);
  EXPECT_EQ(rollback.prev_result->interfaces[0].name, "a-eth0");
  ASSERT_EQ(warnings.size(), 1u);  // still a warning too
  EXPECT_FALSE(std::filesystem::exists(cache_file()));

  // A rollback whose DELs all succeed says so; so does a successful ADD.
  auto ok = net("1.0.0", {"a", "b"}, {{}, {{"fail", {{"ADD", {{"code", 7}}}}}}});
  ASSERT_FALSE(rt->add(ok, conf, &rollback));
  EXPECT_FALSE(rollback.failed);
  EXPECT_TRUE(rollback.errors.empty());
  ASSERT_OK(rt->add(net("1.0.0", {"a"}), conf, &rollback));
  EXPECT_FALSE(rollback.failed);
}

TEST_F(RuntimeFake, DelOptionsGiveAFallbackResultAndLeaveTheNetnsOut) {
  auto n = net("1.0.0", {"a", "b"});
  CniResult fallback;
  fallback.cni_version = "1.0.0";
  fallback.interfaces.push_back({"from-the-state", "02:00:00:00:00:09", ""});
  DelOptions opts;
  opts.fallback_result = fallback;
  opts.without_netns = true;
  // No cache entry: the fallback is prevResult; CNI_NETNS is empty.
  ASSERT_OK(rt->del(n, conf, opts));
  auto calls = bin.calls();
  ASSERT_EQ(calls.size(), 2u);
  for (auto& c : calls) {
    EXPECT_EQ(c["command"], "DEL");
    EXPECT_EQ(c["env"]["CNI_NETNS"], "");
    EXPECT_EQ(c["env"]["CNI_CONTAINERID"], "ctr1");
    EXPECT_EQ(c["conf"]["prevResult"]["interfaces"][0]["name"], "from-the-state");
  }
  // A cache entry wins over the fallback, and without_netns wins over the netns it names.
  ASSERT_OK(rt->add(n, conf));
  RuntimeConf no_netns = conf;
  no_netns.netns.clear();
  ASSERT_OK(rt->del(n, no_netns, opts));
  calls = bin.calls();
  ASSERT_EQ(calls.size(), 6u);
  EXPECT_EQ(calls[4]["conf"]["prevResult"]["interfaces"][0]["name"], "a-eth0");
  EXPECT_EQ(calls[4]["env"]["CNI_NETNS"], "");
  EXPECT_FALSE(std::filesystem::exists(cache_file()));
}

TEST_F(RuntimeFake, BadResultAndHangAndCrashRollBack) {
  auto garbage = net("1.0.0", {"a", "b"}, {{}, {{"garbage", {{"ADD", "not json"}}}}});
  auto r1 = rt->add(garbage, conf);
  ASSERT_FALSE(r1);
  EXPECT_NE(r1.error().message().find("plugin b (ADD): bad result"), std::string::npos) << r1.error().message();
  auto wrong = net("1.0.0", {"a", "b"}, {{}, {{"garbage", {{"ADD", R"({"cniVersion":"1.0.0","ips":[{"address":"x"}]})"}}}}});
  auto r2 = rt->add(wrong, conf);
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().message().find("ips[0].address"), std::string::npos);
  auto crash = net("1.0.0", {"a", "b"}, {{}, {{"crash", {"ADD"}}}});
  auto r3 = rt->add(crash, conf);
  ASSERT_FALSE(r3);
  EXPECT_NE(r3.error().message().find("killed by signal"), std::string::npos);
  EXPECT_EQ(sequence(), (std::vector<std::string>{"ADD a", "ADD b", "DEL b", "DEL a", "ADD a", "ADD b", "DEL b",
                                                  "DEL a", "ADD a", "ADD b", "DEL b", "DEL a"}));
  EXPECT_FALSE(std::filesystem::exists(cache_file()));

  RuntimeOptions o = rt->options();
  o.deadline = std::chrono::milliseconds(800);
  Runtime quick(o);
  auto hang = net("1.0.0", {"a"}, {{{"hang", {{"ADD", bin.file("pid")}}}}});
  auto r4 = quick.add(hang, conf);
  ASSERT_FALSE(r4);
  EXPECT_TRUE(r4.error().is(Errc::timed_out));
  EXPECT_EQ(bin.calls().back()["command"], "DEL");
}

// A plugin SIGKILLed while writing its result (half a JSON object on stdout): the half is never
// parsed as a result, the error says what happened, and every plugin that ran gets its DEL.
TEST_F(RuntimeFake, PluginKilledMidWriteRollsBack) {
  auto dying = net("1.0.0", {"a", "b"}, {{}, {{"dieMidWrite", {"ADD"}}}});
  auto r = rt->add(dying, conf);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::plugin_failed)) << r.error().message();
  EXPECT_NE(r.error().message().find("plugin b (ADD): killed by signal 9"), std::string::npos) << r.error().message();
  EXPECT_EQ(sequence(), (std::vector<std::string>{"ADD a", "ADD b", "DEL b", "DEL a"}));
  EXPECT_FALSE(std::filesystem::exists(cache_file()));
  // Nothing is stuck: the same container attaches once the plugin behaves.
  auto ok = rt->add(net("1.0.0", {"a", "b"}), conf);
  ASSERT_OK(ok);
  EXPECT_OK(rt->del(net("1.0.0", {"a", "b"}), conf));
}

TEST_F(RuntimeFake, MissingPluginOrBadInputAttachesNothing) {
  auto n = net("1.0.0", {"a", "nope", "c"});
  auto r = rt->add(n, conf);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::not_found));
  EXPECT_NE(r.error().message().find("plugin \"nope\""), std::string::npos);
  auto ok = net("1.0.0", {"a"});
  for (auto [cid, ifname, netns] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"", "eth0", "/x"}, {"-x", "eth0", "/x"}, {"a/b", "eth0", "/x"}, {"c", "eth0123456789abcdef", "/x"},
           {"c", "a:b", "/x"}, {"c", "", "/x"}, {"c", "eth0", ""}, {"c", "eth0", "rel/ns"}}) {
    RuntimeConf bad = conf;
    bad.container_id = cid;
    bad.ifname = ifname;
    bad.netns = netns;
    auto rb = rt->add(ok, bad);
    ASSERT_FALSE(rb) << cid << " " << ifname;
    EXPECT_NE(rb.error().message().find("cni add"), std::string::npos);
  }
  RuntimeConf badcaps = conf;
  badcaps.capability_args = json::array();
  EXPECT_FALSE(rt->add(ok, badcaps));
  EXPECT_TRUE(bin.calls().empty());
}

TEST_F(RuntimeFake, OldResultVersionsAreConverted) {
  auto n = net("1.0.0", {"a", "b", "c"}, {{{"ip", "10.9.0.5/24"}}, {{"resultVersion", "0.3.1"}}});
  auto r = rt->add(n, conf);
  ASSERT_OK(r);
  EXPECT_EQ(r->cni_version, "1.0.0");
  auto calls = bin.calls();
  // b answered 0.3.1 ("version":"4" in ips); c still gets a 1.0.0 prevResult.
  EXPECT_EQ(calls[2]["conf"]["prevResult"]["cniVersion"], "1.0.0");
  EXPECT_FALSE(calls[2]["conf"]["prevResult"]["ips"][0].contains("version"));
  auto cached = json::parse(test::read_text(cache_file()));
  EXPECT_EQ(cached["result"]["cniVersion"], "1.0.0");

  // And a 0.4.0 list gets 0.4.0 results everywhere.
  auto n4 = net("0.4.0", {"a", "b"}, {{{"ip", "fd00::5/64"}}});
  RuntimeConf c2 = conf;
  c2.container_id = "ctr2";
  auto r4 = rt->add(n4, c2);
  ASSERT_OK(r4);
  auto c4 = json::parse(test::read_text(cache_file("ctr2")));
  EXPECT_EQ(c4["result"]["ips"][0]["version"], "6");
}

TEST_F(RuntimeFake, Config110NegotiatesDownWithOlderPlugins) {
  auto n = net("1.1.0", {"a", "old"});
  ASSERT_OK(rt->add(n, conf));
  auto calls = bin.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0]["conf"]["cniVersion"], "1.1.0");
  EXPECT_EQ(calls[1]["conf"]["cniVersion"], "1.0.0");
  EXPECT_EQ(calls[1]["conf"]["prevResult"]["cniVersion"], "1.0.0");
  // No version in common: refused before anything runs.
  auto bad = net("1.1.0", {"a", "ancient"});
  RuntimeConf c2 = conf;
  c2.container_id = "ctr2";
  auto r = rt->add(bad, c2);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::unsupported));
  EXPECT_NE(r.error().message().find("plugin ancient speaks CNI 0.3.1, 0.4.0"), std::string::npos)
      << r.error().message();
  EXPECT_EQ(bin.calls().size(), 2u);
  // With cniVersions declaring 0.4.0 too, "ancient" gets 0.4.0.
  auto list = net("1.1.0", {"a", "ancient"}, {}, {{"cniVersions", {"0.4.0", "1.1.0"}}});
  ASSERT_OK(rt->add(list, c2));
  EXPECT_EQ(bin.calls().back()["conf"]["cniVersion"], "0.4.0");
}

TEST_F(RuntimeFake, CheckUsesCachedResultAndHonoursDisableCheck) {
  auto n = net("1.0.0", {"a", "b"});
  auto none = rt->check(n, conf);
  ASSERT_FALSE(none);
  EXPECT_TRUE(none.error().is(Errc::not_found));
  ASSERT_OK(rt->add(n, conf));
  ASSERT_OK(rt->check(n, conf));
  auto calls = bin.calls();
  ASSERT_EQ(sequence(), (std::vector<std::string>{"ADD a", "ADD b", "CHECK a", "CHECK b"}));
  EXPECT_EQ(calls[2]["conf"]["prevResult"]["interfaces"].size(), 2u);  // the final result, not chained
  auto failing = net("1.0.0", {"a", "b"}, {{}, {{"fail", {{"CHECK", {{"code", 3}, {"msg", "gone"}}}}}}});
  auto f = rt->check(failing, conf);
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message().find("plugin b (CHECK): exit status 1: CNI error 3 (container unknown"), std::string::npos);
  auto off = net("1.0.0", {"a"}, {}, {{"disableCheck", true}});
  std::size_t before = bin.calls().size();
  ASSERT_OK(rt->check(off, conf));
  EXPECT_EQ(bin.calls().size(), before);
  auto old = net("0.3.1", {"a"});
  auto o = rt->check(old, conf);
  ASSERT_FALSE(o);
  EXPECT_TRUE(o.error().is(Errc::unsupported));
}

TEST_F(RuntimeFake, StatusSkipsPluginsWithoutTheVerb) {
  auto n = net("1.1.0", {"a", "old"});
  ASSERT_OK(rt->status(n));
  EXPECT_EQ(sequence(), (std::vector<std::string>{"STATUS a"}));
  EXPECT_EQ(bin.calls()[0]["env"]["CNI_CONTAINERID"], "");
  auto down = net("1.1.0", {"a"}, {{{"fail", {{"STATUS", {{"code", 50}, {"msg", "no leases"}}}}}}});
  auto st = rt->status(down);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("CNI error 50 (plugin not available): no leases"), std::string::npos);
  auto old = net("1.0.0", {"a"});
  std::size_t before = bin.calls().size();
  ASSERT_OK(rt->status(old));
  EXPECT_EQ(bin.calls().size(), before);
}

TEST_F(RuntimeFake, GcDeletesStaleAttachmentsThenCallsGc) {
  auto n = net("1.1.0", {"a", "old"});
  RuntimeConf keep = conf, stale = conf;
  keep.container_id = "keep";
  stale.container_id = "stale";
  stale.netns = "/run/netns/stale";
  stale.args = {{"K", "V"}};
  ASSERT_OK(rt->add(n, keep));
  ASSERT_OK(rt->add(n, stale));
  // An entry of another network and an unreadable one are left alone.
  test::write_text(cache / "results/fnet-junk-eth0", "nope");
  ASSERT_OK(rt->gc(n, {{"keep", "eth0"}}));
  auto calls = bin.calls();
  ASSERT_EQ(sequence(), (std::vector<std::string>{"ADD a", "ADD old", "ADD a", "ADD old", "DEL old", "DEL a", "GC a"}));
  EXPECT_EQ(calls[4]["env"]["CNI_CONTAINERID"], "stale");
  EXPECT_EQ(calls[4]["env"]["CNI_NETNS"], "/run/netns/stale");
  EXPECT_EQ(calls[4]["env"]["CNI_ARGS"], "K=V");
  EXPECT_EQ(calls[6]["conf"]["cni.dev/valid-attachments"], json::parse(R"([{"containerID":"keep","ifname":"eth0"}])"));
  EXPECT_TRUE(std::filesystem::exists(cache_file("keep")));
  EXPECT_FALSE(std::filesystem::exists(cache_file("stale")));
  EXPECT_TRUE(std::filesystem::exists(cache_file("junk")));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("fnet-junk-eth0"), std::string::npos);

  auto off = net("1.1.0", {"a"}, {}, {{"disableGC", true}});
  std::size_t before = bin.calls().size();
  ASSERT_OK(rt->gc(off, {}));
  EXPECT_EQ(bin.calls().size(), before);
  EXPECT_TRUE(std::filesystem::exists(cache_file("keep")));
}

TEST_F(RuntimeFake, GcOnOlderVersionsOnlyDeletesStale) {
  auto n = net("1.0.0", {"a"});
  ASSERT_OK(rt->add(n, conf));
  ASSERT_OK(rt->gc(n, {}));
  EXPECT_EQ(sequence(), (std::vector<std::string>{"ADD a", "DEL a"}));
}

TEST_F(RuntimeFake, VersionsReportsEachPlugin) {
  auto v = rt->versions(net("1.0.0", {"a", "old"}));
  ASSERT_OK(v);
  ASSERT_EQ(v->size(), 2u);
  EXPECT_TRUE((*v)[0].supports("1.1.0"));
  EXPECT_FALSE((*v)[1].supports("1.1.0"));
  EXPECT_EQ((*v)[1].path, bin.path() + "/old");
}

}  // namespace
}  // namespace podns::cni
