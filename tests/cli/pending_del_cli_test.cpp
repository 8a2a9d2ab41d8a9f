// Pending CNI DELs through the binary: `pod create` warns when it keeps one, `gc --pending` lists
// them, `gc` retries them and says how many are done and left; and SIGKILL right after the record
// is written (kill point create.pending-del) loses nothing. Fake plugins (fake_cni_net.hpp).
#include <gtest/gtest.h>

#include "../pod/fake_cni_net.hpp"
#include "../pod/pod_fixture.hpp"
#include "podns/state/store.hpp"

namespace podns::pod {
namespace {

using podns::test::FakeCniNet;
using podns::test::PodWorld;
using podns::test::run_podns;

std::vector<std::string> fake_env(const PodWorld& w, const FakeCniNet& f) {
  auto env = w.cli_env();
  env.push_back("CNI_PATH=" + f.plugin_dir());
  return env;
}

nlohmann::json pending_json(const std::vector<std::string>& env) {
  auto r = run_podns({"gc", "--pending", "--json"}, env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out, nullptr, false);
}

TEST(PendingDelCli, ListedRetriedAndReportedByGc) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("/usr/bin/python3", "python3");
  PodWorld w;
  FakeCniNet f(w);
  auto env = fake_env(w, f);
  std::string name = test::unique_name("pdc");
  auto r = run_podns({"pod", "create", name, "--network", FakeCniNet::kName}, env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("kept as a pending DEL"), std::string::npos) << r.err;

  auto listed = pending_json(env);
  ASSERT_TRUE(listed.is_array()) << listed;
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["network"], FakeCniNet::kName);
  EXPECT_EQ(listed[0]["containerId"], container_id(name));
  EXPECT_EQ(listed[0]["ifname"], "eth0");
  EXPECT_EQ(listed[0]["pod"], name);
  EXPECT_EQ(listed[0]["attempts"], 1);
  EXPECT_NE(listed[0]["lastError"].get<std::string>().find("fake DEL failure"), std::string::npos);
  auto text = run_podns({"gc", "--pending"}, env);
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("NETWORK"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(container_id(name)), std::string::npos) << text.out;

  // Still broken: gc fails, says what is left, and counts the attempt.
  auto g = run_podns({"gc"}, env);
  EXPECT_EQ(g.exit_code, 1);
  EXPECT_NE(g.out.find("pending CNI DELs: 0 done, 1 still pending"), std::string::npos) << g.out;
  EXPECT_NE(g.err.find("pending CNI DEL of " + container_id(name)), std::string::npos) << g.err;
  EXPECT_EQ(pending_json(env)[0]["attempts"], 2);

  f.fix_del();
  size_t before = f.calls().size();
  g = run_podns({"gc", "--json"}, env);
  EXPECT_EQ(g.exit_code, 0) << g.err;
  auto report = nlohmann::json::parse(g.out, nullptr, false);
  EXPECT_EQ(report["pendingDels"], nlohmann::json({{"done", 1}, {"left", 0}})) << g.out;
  auto dels = f.calls("DEL", container_id(name), before);
  ASSERT_EQ(dels.size(), 2u);
  EXPECT_EQ(dels[1]["env"]["CNI_IFNAME"], "eth0");
  EXPECT_EQ(pending_json(env), nlohmann::json::array());
}

TEST(PendingDelCli, CreateKilledRightAfterKeepingItLosesNothing) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("/usr/bin/python3", "python3");
  PodWorld w;
  FakeCniNet f(w);
  auto env = fake_env(w, f);
  std::string name = test::unique_name("pdk");
  auto killed = env;
  killed.push_back("PODNS_TEST_KILL_POINT=create.pending-del");
  auto r = podns::test::run_podns_faulty({"pod", "create", name, "--network", FakeCniNet::kName}, killed);
  ASSERT_EQ(r.exit_code, 128 + 9) << "kill point not reached: " << r.err;
  {
    // Killed in the middle of the rollback: the pod is still recorded, without the attachment row,
    // and the DEL it owes is on disk.
    auto store = state::Store::open(w.env.paths.db_path());
    ASSERT_OK(store);
    auto st = store->load(name);
    ASSERT_OK(st);
    EXPECT_EQ(st->pod.phase, state::PodPhase::creating);
    EXPECT_TRUE(st->attachments.empty());
    auto pending = store->pending_dels();
    ASSERT_OK(pending);
    ASSERT_EQ(pending->size(), 1u);
    EXPECT_EQ(pending->front().container_id, container_id(name));
  }
  f.fix_del();
  size_t before = f.calls().size();
  auto g = run_podns({"gc"}, env);
  EXPECT_EQ(g.exit_code, 0) << g.err;
  EXPECT_NE(g.out.find("pod " + name + ": create interrupted, rolled back"), std::string::npos) << g.out;
  EXPECT_NE(g.out.find("pending CNI DELs: 1 done, 0 still pending"), std::string::npos) << g.out;
  auto dels = f.calls("DEL", container_id(name), before);
  ASSERT_EQ(dels.size(), 2u);
  EXPECT_EQ(dels[0]["env"]["CNI_IFNAME"], "eth0");
  EXPECT_EQ(pending_json(env), nlohmann::json::array());
  auto pods = list(w.env);
  ASSERT_OK(pods);
  EXPECT_TRUE(pods->empty());
}

}  // namespace
}  // namespace podns::pod
