#include "podns/state/store.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "test_support.hpp"

namespace podns::state {
namespace {

using podns::test::TempDir;

PodRecord pod(const std::string& name) { return PodRecord{name, PodPhase::creating, R"({"networks":["podns"]})", "", "", 0}; }
PortMapping port(const std::string& ip, int host, int ctr, const std::string& proto = "tcp") {
  return PortMapping{"", ip, host, ctr, proto};
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(Store, OpenCreatesSchemaInWalMode) {
  TempDir dir;
  auto store = Store::open(dir / "sub/podns.db");
  ASSERT_OK(store);
  auto v = store->schema_version();
  ASSERT_OK(v);
  EXPECT_EQ(*v, kSchemaVersion);
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "sub/podns.db").c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(raw);
}

// The WAL's length in frames, from its size: a 32-byte header, then a 24-byte header and a page per
// frame. Checkpoints do not shrink the file (SQLite writes over it from the start again), so this
// is the longest the WAL has been.
long wal_frames(const std::string& db) {
  std::error_code ec;
  auto size = std::filesystem::file_size(db + "-wal", ec);
  return ec ? 0 : static_cast<long>((size - 32) / (24 + 4096));
}

TEST(Store, ShortLivedProcessesKeepTheWalShortAndLongLivedOnesLetItGrow) {
  TempDir dir;
  for (int pages : {kShortLivedCheckpointPages, kDefaultCheckpointPages}) {
    SCOPED_TRACE(pages);
    const std::string db = dir / fmt::format("{}.db", pages);
    {
      auto store = Store::open(db, std::chrono::seconds(30), pages);
      ASSERT_OK(store);
      // Two or three pages per commit, a commit per pod: about 550 frames in all.
      for (int i = 0; i < 250; ++i) ASSERT_OK(store->insert_pod(pod(fmt::format("p{}", i)), {}));
    }
    Store::close_idle();
    if (pages == kShortLivedCheckpointPages) {
      EXPECT_LE(wal_frames(db), pages + 20);  // checkpointed on reaching it, then written over
    } else {
      EXPECT_GT(wal_frames(db), 2 * kShortLivedCheckpointPages);
      EXPECT_LT(wal_frames(db), pages);
    }
  }
}

TEST(Store, PodRoundTripAndPersistsAcrossReopen) {
  TempDir dir;
  {
    auto store = Store::open(dir / "podns.db");
    ASSERT_OK(store);
    ASSERT_OK(store->insert_pod(pod("web"), {port("", 8080, 80), port("127.0.0.1", 5353, 53, "udp")}));
    ASSERT_OK(store->set_pod_paths("web", "/run/netns/web", "/run/podns/ns/user/web"));
    ASSERT_OK(store->record_pin_intent("web", "net", "/run/netns/web"));
    ASSERT_OK(store->commit_pin("web", "net"));
    AttachmentRecord a{"web", 0, "podns", "eth0", "cid", "/run/netns/web", "{}", "{}", "", RowState::intent};
    ASSERT_OK(store->record_attachment_intent(a));
    ASSERT_OK(store->commit_attachment("web", 0, R"({"ips":[{"address":"10.88.0.2/16"}]})"));
    ASSERT_OK(store->record_helper_intent("web", "pasta"));
    ASSERT_OK(store->commit_helper("web", "pasta", 42, 12345));
    ASSERT_OK(store->set_pod_phase("web", PodPhase::ready));
  }
  // A fresh connection (a restarted podns) sees exactly what was committed (containerd #10363).
  auto store = Store::open(dir / "podns.db");
  ASSERT_OK(store);
  auto st = store->load("web");
  ASSERT_OK(st);
  EXPECT_EQ(st->pod.phase, PodPhase::ready);
  EXPECT_EQ(st->pod.netns_path, "/run/netns/web");
  EXPECT_EQ(st->pod.userns_path, "/run/podns/ns/user/web");
  EXPECT_GT(st->pod.created_at, 0);
  ASSERT_EQ(st->pins.size(), 1u);
  EXPECT_EQ(st->pins[0].state, RowState::done);
  ASSERT_EQ(st->attachments.size(), 1u);
  EXPECT_EQ(st->attachments[0].state, RowState::done);
  EXPECT_EQ(st->attachments[0].result, R"({"ips":[{"address":"10.88.0.2/16"}]})");
  ASSERT_EQ(st->ports.size(), 2u);
  ASSERT_EQ(st->helpers.size(), 1u);
  EXPECT_EQ(st->helpers[0].pid, 42);
  EXPECT_EQ(st->helpers[0].start_time, 12345u);
}

TEST(Store, DuplicateNameIsRejectedAndKeepsTheFirst) {
  TempDir dir;
  auto store = Store::open(dir / "podns.db");
  ASSERT_OK(store);
  ASSERT_OK(store->insert_pod(pod("web"), {port("", 8080, 80)}));
  PodRecord other = pod("web");
  other.spec = "{}";
  auto r = store->insert_pod(other, {port("", 9090, 90)});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::already_exists)) << r.error().message();
  auto st = store->load("web");
  ASSERT_OK(st);
  EXPECT_EQ(st->pod.spec, pod("web").spec);
  ASSERT_EQ(st->ports.size(), 1u);
  EXPECT_EQ(st->ports[0].host_port, 8080);
}

TEST(Store, PortConflictsAreRejectedAtomically) {
  TempDir dir;
  auto store = Store::open(dir / "podns.db");
  ASSERT_OK(store);
  ASSERT_OK(store->insert_pod(pod("a"), {port("127.0.0.1", 8080, 80)}));
  // Same port, other protocol or other specific address: fine.
  EXPECT_OK(store->insert_pod(pod("b"), {port("127.0.0.1", 8080, 80, "udp")}));
  EXPECT_OK(store->insert_pod(pod("c"), {port("127.0.0.2", 8080, 80)}));
  // All addresses overlaps every specific one; the failed insert leaves no pod and no ports.
  auto r = store->insert_pod(pod("d"), {port("", 9000, 90), port("", 8080, 80)});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::already_exists));
  EXPECT_NE(r.error().message().find("8080/tcp is already published by pod a"), std::string::npos)
      << r.error().message();
  EXPECT_TRUE(store->get_pod("d").error().is(Errc::not_found));
  auto ports = store->all_ports();
  ASSERT_OK(ports);
  EXPECT_EQ(ports->size(), 3u);
  // Twice within one pod.
  auto twice = store->insert_pod(pod("e"), {port("", 7000, 70), port("", 7000, 71)});
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message().find("published twice"), std::string::npos);
}

TEST(Store, DeletePodDropsEveryRowAndIsIdempotent) {
  TempDir dir;
  auto store = Store::open(dir / "podns.db");
  ASSERT_OK(store);
  ASSERT_OK(store->insert_pod(pod("web"), {port("", 8080, 80)}));
  ASSERT_OK(store->record_pin_intent("web", "net", "/x"));
  ASSERT_OK(store->record_attachment_intent({"web", 0, "n", "eth0", "c", "/x", "{}", "{}", "", RowState::intent}));
  ASSERT_OK(store->record_helper_intent("web", "slirp4netns"));
  ASSERT_OK(store->delete_pod("web"));
  ASSERT_OK(store->delete_pod("web"));
  EXPECT_TRUE(store->load("web").error().is(Errc::not_found));
  // The port is free again.
  EXPECT_OK(store->insert_pod(pod("next"), {port("", 8080, 80)}));
  auto all = store->load_all();
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_TRUE(all->front().pins.empty());
}

// A listing inside a write transaction reads that transaction's snapshot (its own writes too)
// instead of failing to open a second one.
TEST(Store, LoadAllInsideATransaction) {
  TempDir dir;
  auto store = Store::open(dir / "podns.db");
  ASSERT_OK(store);
  ASSERT_OK(store->insert_pod(pod("web"), {}));
  size_t seen = 0, summaries = 0;
  ASSERT_OK(store->transaction([&]() -> Status {
    if (auto s = store->insert_pod(pod("db"), {}); !s) return s;
    auto all = store->load_all();
    if (!all) return fail(all.error());
    seen = all->size();
    auto sum = store->load_all_summaries();
    if (!sum) return fail(sum.error());
    summaries = sum->size();
    return {};
  }));
  EXPECT_EQ(seen, 2u);
  EXPECT_EQ(summaries, 2u);
}

TEST(Store, CommitOfMissingRowIsNotFound) {
  TempDir dir;
  auto store = Store::open(dir / "podns.db");
  ASSERT_OK(store);
  EXPECT_TRUE(store->commit_pin("ghost", "net").error().is(Errc::not_found));
  EXPECT_TRUE(store->set_pod_phase("ghost", PodPhase::ready).error().is(Errc::not_found));
  // A child row cannot exist without its pod (foreign keys are on).
  auto r = store->record_pin_intent("ghost", "net", "/x");
  EXPECT_FALSE(r);
}

TEST(Store, TransactionRollsBackOnFailure) {
  TempDir dir;
  auto store = Store::open(dir / "podns.db");
  ASSERT_OK(store);
  auto r = store->transaction([&]() -> Status {
    if (auto s = store->insert_pod(pod("a"), {}); !s) return s;
    return fail(Errc::invalid_argument, "boom");
  });
  ASSERT_FALSE(r);
  EXPECT_TRUE(store->get_pod("a").error().is(Errc::not_found));
}

TEST(Store, CorruptFileIsReportedAndLeftUntouched) {
  TempDir dir;
  std::string path = dir / "podns.db";
  std::string junk(8192, 'x');
  junk.replace(0, 20, "this is no database\n");
  {
    std::ofstream f(path, std::ios::binary);
    f << junk;
  }
  auto store = Store::open(path);
  ASSERT_FALSE(store);
  EXPECT_TRUE(store.error().is(Errc::corrupt)) << store.error().message();
  EXPECT_NE(store.error().message().find(path), std::string::npos) << store.error().message();
  EXPECT_EQ(slurp(path), junk);  // nothing overwritten: the operator may still recover it
}

TEST(Store, LockedDatabaseGivesBusyAfterTheTimeout) {
  TempDir dir;
  std::string path = dir / "podns.db";
  {
    auto store = Store::open(path);
    ASSERT_OK(store);
  }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  // WAL lets readers through: opening an up-to-date database takes no lock, a write waits.
  auto store = Store::open(path, std::chrono::milliseconds(200));
  ASSERT_OK(store);
  auto t0 = std::chrono::steady_clock::now();
  auto inserted = store->insert_pod(pod("late"), {});
  auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(inserted);
  EXPECT_TRUE(inserted.error().is(Errc::busy)) << inserted.error().message();
  EXPECT_GE(waited, std::chrono::milliseconds(150));
  sqlite3_exec(raw, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(raw);
  EXPECT_OK(store->insert_pod(pod("late"), {}));
}

TEST(Store, NewerSchemaIsRefused) {
  TempDir dir;
  std::string path = dir / "podns.db";
  {
    auto store = Store::open(path);
    ASSERT_OK(store);
  }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
  auto store = Store::open(path);
  ASSERT_FALSE(store);
  EXPECT_TRUE(store.error().is(Errc::unsupported)) << store.error().message();
  EXPECT_NE(store.error().message().find("99"), std::string::npos);
}

TEST(Store, ConcurrentWritersFromProcesses) {
  TempDir dir;
  std::string path = dir / "podns.db";
  constexpr int kProcs = 8, kPods = 40;
  std::vector<pid_t> kids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Every child opens the (possibly not yet created) database itself: migrations race too.
      auto store = Store::open(path);
      if (!store) _exit(10);
      for (int i = 0; i < kPods; ++i) {
        std::string name = "p" + std::to_string(p) + "-" + std::to_string(i);
        if (!store->insert_pod(pod(name), {port("", 10000 + p * kPods + i, 80)})) _exit(11);
        if (!store->record_pin_intent(name, "net", "/x")) _exit(12);
        if (!store->commit_pin(name, "net")) _exit(13);
        if (!store->set_pod_phase(name, PodPhase::ready)) _exit(14);
      }
      _exit(0);
    }
    kids.push_back(pid);
  }
  for (pid_t k : kids) {
    int status = 0;
    ASSERT_EQ(waitpid(k, &status, 0), k);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  }
  auto store = Store::open(path);
  ASSERT_OK(store);
  auto all = store->load_all();
  ASSERT_OK(all);
  EXPECT_EQ(all->size(), static_cast<size_t>(kProcs * kPods));
  for (auto& ps : *all) {
    EXPECT_EQ(ps.pod.phase, PodPhase::ready);
    EXPECT_EQ(ps.pins.size(), 1u);
  }
}

TEST(Store, LoadAllOfAThousandPodsIsFast) {
  TempDir dir;
  auto store = Store::open(dir / "podns.db");
  ASSERT_OK(store);
  ASSERT_OK(store->transaction([&]() -> Status {
    for (int i = 0; i < 1000; ++i) {
      std::string name = "pod" + std::to_string(i);
      if (auto s = store->insert_pod(pod(name), {port("", 1000 + i, 80)}); !s) return s;
      if (auto s = store->record_pin_intent(name, "net", "/run/netns/" + name); !s) return s;
      if (auto s = store->record_attachment_intent(
              {name, 0, "podns", "eth0", name, "/run/netns/" + name, R"({"plugins":[]})", "{}", "", RowState::intent});
          !s)
        return s;
    }
    return {};
  }));
  auto t0 = std::chrono::steady_clock::now();
  auto all = store->load_all();
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_OK(all);
  EXPECT_EQ(all->size(), 1000u);
  EXPECT_EQ(all->back().attachments.size(), 1u);
  EXPECT_LT(took, std::chrono::milliseconds(100));  // the bench holds the real 20 ms budget
}

}  // namespace
}  // namespace podns::state
