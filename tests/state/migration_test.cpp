// Schema 2: attachment summaries and id mappings in columns of their own, written at commit time,
// and the 1 -> 2 migration that fills them for the rows an older podns wrote.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

#include "podns/state/store.hpp"
#include "state/summary.hpp"
#include "test_support.hpp"

namespace podns::state {
namespace {

using podns::test::TempDir;

// Schema 1 exactly as the first release wrote it (a copy: the shipped migration text may never
// change, and this test must keep describing what old databases look like).
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE pods (
  name TEXT PRIMARY KEY, phase TEXT NOT NULL CHECK (phase IN ('creating', 'ready', 'removing')),
  spec TEXT NOT NULL, netns_path TEXT NOT NULL DEFAULT '', userns_path TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE pins (
  pod TEXT NOT NULL REFERENCES pods(name) ON DELETE CASCADE, type TEXT NOT NULL, path TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('intent', 'done')), PRIMARY KEY (pod, type)) WITHOUT ROWID;
CREATE TABLE attachments (
  pod TEXT NOT NULL REFERENCES pods(name) ON DELETE CASCADE, idx INTEGER NOT NULL, network TEXT NOT NULL,
  ifname TEXT NOT NULL, container_id TEXT NOT NULL, netns_path TEXT NOT NULL, config TEXT NOT NULL,
  runtime_config TEXT NOT NULL, result TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL CHECK (state IN ('intent', 'done')), PRIMARY KEY (pod, idx)) WITHOUT ROWID;
CREATE TABLE port_mappings (
  pod TEXT NOT NULL REFERENCES pods(name) ON DELETE CASCADE, host_ip TEXT NOT NULL,
  host_port INTEGER NOT NULL CHECK (host_port BETWEEN 1 AND 65535),
  container_port INTEGER NOT NULL CHECK (container_port BETWEEN 1 AND 65535),
  protocol TEXT NOT NULL CHECK (protocol IN ('tcp', 'udp', 'sctp')),
  PRIMARY KEY (pod, host_ip, host_port, protocol)) WITHOUT ROWID;
CREATE INDEX port_mappings_by_port ON port_mappings (host_port, protocol);
CREATE TABLE helpers (
  pod TEXT NOT NULL REFERENCES pods(name) ON DELETE CASCADE, kind TEXT NOT NULL,
  pid INTEGER NOT NULL DEFAULT 0, start_time INTEGER NOT NULL DEFAULT 0, record TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL CHECK (state IN ('intent', 'done')), PRIMARY KEY (pod, kind)) WITHOUT ROWID;
PRAGMA user_version = 1;
)sql";

// What the 1 -> 2 step added, as schema 2 shipped it (on top of kSchemaV1).
constexpr const char* kSchemaV2Step = R"sql(
ALTER TABLE pods ADD COLUMN id_mappings TEXT NOT NULL DEFAULT '';
ALTER TABLE attachments ADD COLUMN mac TEXT NOT NULL DEFAULT '';
CREATE TABLE attachment_addresses (
  pod TEXT NOT NULL, idx INTEGER NOT NULL, seq INTEGER NOT NULL, address TEXT NOT NULL,
  gateway TEXT NOT NULL DEFAULT '', PRIMARY KEY (pod, idx, seq),
  FOREIGN KEY (pod, idx) REFERENCES attachments (pod, idx) ON DELETE CASCADE) WITHOUT ROWID;
CREATE INDEX attachments_summary ON attachments (pod, idx, network, ifname, state, mac);
CREATE INDEX pods_summary ON pods (name, phase, netns_path, userns_path, created_at, id_mappings);
PRAGMA user_version = 2;
)sql";

// A bridge plugin's result: host bridge, host veth, then the pod's eth0 (index 2), and an address
// on each of the bridge and eth0.
constexpr const char* kResult =
    R"({"cniVersion":"1.0.0","interfaces":[{"name":"podns0","mac":"aa:aa:aa:aa:aa:01"},)"
    R"({"name":"veth1","mac":"aa:aa:aa:aa:aa:02"},{"name":"eth0","mac":"0a:58:0a:59:00:05","sandbox":"/run/netns/web"}],)"
    R"("ips":[{"address":"10.89.0.1/16","interface":0},{"address":"10.89.0.5/16","gateway":"10.89.0.1","interface":2},)"
    R"({"address":"fd00::5/64","gateway":"fd00::1","interface":2}]})";

void exec_sql(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
}

TEST(Summary, TakesThePodsInterfaceOutOfACniResult) {
  auto s = summarize_cni_result(kResult, "eth0");
  EXPECT_EQ(s.mac, "0a:58:0a:59:00:05");
  ASSERT_EQ(s.addresses.size(), 2u);
  EXPECT_EQ(s.addresses[0], (AttachmentAddress{"10.89.0.5/16", "10.89.0.1"}));
  EXPECT_EQ(s.addresses[1], (AttachmentAddress{"fd00::5/64", "fd00::1"}));
  // No interface list (a plugin may leave it out): every IP counts.
  auto bare = summarize_cni_result(R"({"ips":[{"address":"10.1.0.2/24"}]})", "eth0");
  EXPECT_EQ(bare.mac, "");
  ASSERT_EQ(bare.addresses.size(), 1u);
  EXPECT_EQ(bare.addresses[0].address, "10.1.0.2/24");
  // Garbage or wrong types never throw: an empty summary.
  EXPECT_EQ(summarize_cni_result("not json", "eth0"), AttachmentSummary{});
  EXPECT_EQ(summarize_cni_result(R"({"interfaces":[{"name":7}],"ips":[{"address":5},3]})", "eth0"),
            AttachmentSummary{});
}

TEST(Summary, WrittenWhenTheAttachmentIsCommittedAndDroppedWithIt) {
  TempDir dir;
  auto store = Store::open(dir / "podns.db");
  ASSERT_OK(store);
  ASSERT_OK(store->insert_pod({"web", PodPhase::creating, R"({"idMappings":{"uidMappings":[]}})", "", "", 0}, {}));
  ASSERT_OK(store->record_attachment_intent(
      {"web", 0, "podns", "eth0", "podns-web", "/run/netns/web", "{}", "{}", "", RowState::intent}));
  ASSERT_OK(store->commit_attachment("web", 0, kResult));
  auto st = store->load("web");
  ASSERT_OK(st);
  EXPECT_EQ(st->pod.id_mappings, R"({"uidMappings":[]})");
  ASSERT_EQ(st->attachments.size(), 1u);
  EXPECT_EQ(st->attachments[0].summary, summarize_cni_result(kResult, "eth0"));
  EXPECT_EQ(st->attachments[0].result, kResult);

  // The listing has the summary but none of the large JSON columns.
  auto all = store->load_all_summaries();
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 1u);
  const auto& a = all->front().attachments.at(0);
  EXPECT_EQ(a.summary.addresses.size(), 2u);
  EXPECT_EQ(a.result, "");
  EXPECT_EQ(a.config, "");
  EXPECT_EQ(all->front().pod.spec, "");
  EXPECT_EQ(all->front().pod.id_mappings, R"({"uidMappings":[]})");

  // A second commit (a retried ADD) replaces the addresses; removing the attachment drops them.
  ASSERT_OK(store->commit_attachment("web", 0, R"({"ips":[{"address":"10.89.0.9/16"}]})"));
  st = store->load("web");
  ASSERT_OK(st);
  ASSERT_EQ(st->attachments[0].summary.addresses.size(), 1u);
  EXPECT_EQ(st->attachments[0].summary.addresses[0].address, "10.89.0.9/16");
  ASSERT_OK(store->remove_attachment("web", 0));
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "podns.db").c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "SELECT count(*) FROM attachment_addresses", -1, &q, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(q, 0), 0);
  sqlite3_finalize(q);
  sqlite3_close(raw);
}

TEST(Migration, OneToTwoFillsTheSummariesOfExistingRows) {
  TempDir dir;
  std::string path = dir / "podns.db";
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    exec_sql(raw, "PRAGMA journal_mode = WAL");
    exec_sql(raw, kSchemaV1);
    exec_sql(raw,
             R"sql(INSERT INTO pods VALUES ('web', 'ready', '{"name":"web","idMappings":{"uidMappings":[{"containerID":0,"hostID":100000,"size":65536}],"gidMappings":[{"containerID":0,"hostID":100000,"size":65536}]}}', '/run/netns/web', '/run/podns/ns/user/web', 1700000000);
INSERT INTO pods VALUES ('db', 'ready', '{"name":"db"}', '/run/netns/db', '', 1700000001);
INSERT INTO pods VALUES ('odd', 'creating', 'not json', '', '', 1700000002);
INSERT INTO pins VALUES ('web', 'net', '/run/netns/web', 'done');
INSERT INTO port_mappings VALUES ('web', '', 8080, 80, 'tcp');)sql");
    sqlite3_stmt* ins = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(raw,
                                 "INSERT INTO attachments VALUES (?1, ?2, ?3, ?4, ?5, ?6, '{}', '{}', ?7, ?8)", -1,
                                 &ins, nullptr),
              SQLITE_OK);
    auto add = [&](const char* pod, int idx, const char* ifname, const char* result, const char* state) {
      sqlite3_bind_text(ins, 1, pod, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int(ins, 2, idx);
      sqlite3_bind_text(ins, 3, idx == 0 ? "podns" : "backend", -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(ins, 4, ifname, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(ins, 5, "podns-x", -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(ins, 6, "/run/netns/x", -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(ins, 7, result, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(ins, 8, state, -1, SQLITE_TRANSIENT);
      EXPECT_EQ(sqlite3_step(ins), SQLITE_DONE) << sqlite3_errmsg(raw);
      sqlite3_reset(ins);
    };
    add("web", 0, "eth0", kResult, "done");
    add("web", 1, "eth1", R"({"ips":[{"address":"172.20.0.3/24","gateway":"172.20.0.1"}]})", "done");
    add("db", 0, "eth0", "", "intent");  // a crash left an intent: no result, nothing to summarize
    sqlite3_finalize(ins);
    sqlite3_close(raw);
  }
  auto store = Store::open(path);
  ASSERT_OK(store);
  auto v = store->schema_version();
  ASSERT_OK(v);
  EXPECT_EQ(*v, kSchemaVersion);  // 1 -> 2 -> 3 in one open
  auto all = store->load_all_summaries();
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 3u);  // db, odd, web
  const auto& db = (*all)[0];
  const auto& odd = (*all)[1];
  const auto& web = (*all)[2];
  EXPECT_EQ(db.pod.id_mappings, "");
  ASSERT_EQ(db.attachments.size(), 1u);
  EXPECT_EQ(db.attachments[0].summary, AttachmentSummary{});
  EXPECT_EQ(odd.pod.id_mappings, "");  // a spec that is not JSON migrates without mappings
  EXPECT_NE(web.pod.id_mappings.find(R"("hostID":100000)"), std::string::npos) << web.pod.id_mappings;
  ASSERT_EQ(web.attachments.size(), 2u);
  EXPECT_EQ(web.attachments[0].summary, summarize_cni_result(kResult, "eth0"));
  ASSERT_EQ(web.attachments[1].summary.addresses.size(), 1u);
  EXPECT_EQ(web.attachments[1].summary.addresses[0], (AttachmentAddress{"172.20.0.3/24", "172.20.0.1"}));
  EXPECT_EQ(web.ports.size(), 1u);
  EXPECT_EQ(web.pins.size(), 1u);
  // Nothing else changed: the full rows still carry the original result.
  auto full = store->load("web");
  ASSERT_OK(full);
  EXPECT_EQ(full->attachments[0].result, kResult);
  // Deleting the pod cascades through attachments to their addresses.
  ASSERT_OK(store->delete_pod("web"));
  auto after = store->load_all_summaries();
  ASSERT_OK(after);
  EXPECT_EQ(after->size(), 2u);
}

TEST(Migration, ASecondOpenOfAnUpToDateDatabaseTakesNoWriteLock) {
  TempDir dir;
  std::string path = dir / "podns.db";
  ASSERT_OK(Store::open(path));
  // Another process holds the write lock; a reader (pod ls, inspect) opens and reads at once.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  exec_sql(raw, "BEGIN IMMEDIATE");
  auto store = Store::open(path, std::chrono::milliseconds(100));
  ASSERT_OK(store);
  EXPECT_OK(store->load_all_summaries());
  exec_sql(raw, "ROLLBACK");
  sqlite3_close(raw);
}

// A scalar out of a raw connection (what the schema looks like, apart from the Store's API).
std::string query_text(const std::string& path, const std::string& sql) {
  sqlite3* raw = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  std::string out;
  EXPECT_EQ(sqlite3_prepare_v2(raw, sql.c_str(), -1, &q, nullptr), SQLITE_OK) << sqlite3_errmsg(raw);
  while (q && sqlite3_step(q) == SQLITE_ROW) {
    for (int c = 0; c < sqlite3_column_count(q); ++c) {
      auto t = sqlite3_column_text(q, c);
      out += t ? reinterpret_cast<const char*>(t) : "NULL";
      out += c + 1 < sqlite3_column_count(q) ? "|" : "\n";
    }
  }
  sqlite3_finalize(q);
  sqlite3_close(raw);
  return out;
}

// Schema 2 as the previous release left it: CNI pods, a crashed intent, single ports (one at the
// top of the port space, so the new range CHECK is met by the default).
void write_schema_v2_database(const std::string& path) {
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  exec_sql(raw, "PRAGMA journal_mode = WAL");
  exec_sql(raw, kSchemaV1);
  exec_sql(raw, kSchemaV2Step);
  exec_sql(raw, std::string(R"sql(
INSERT INTO pods VALUES ('web', 'ready', '{"name":"web"}', '/run/netns/web', '', 1700000000, '');
INSERT INTO pods VALUES ('db', 'creating', '{"name":"db"}', '', '', 1700000001, '');
INSERT INTO pins VALUES ('web', 'net', '/run/netns/web', 'done');
INSERT INTO attachments VALUES ('web', 0, 'podns', 'eth0', 'podns-web', '/run/netns/web', '{"plugins":[]}', '{}',
                                ')sql") + kResult + R"sql(', 'done', '0a:58:0a:59:00:05');
INSERT INTO attachment_addresses VALUES ('web', 0, 0, '10.89.0.5/16', '10.89.0.1');
INSERT INTO attachments VALUES ('db', 0, 'podns', 'eth0', 'podns-db', '/run/netns/db', '{}', '{}', '', 'intent', '');
INSERT INTO port_mappings VALUES ('web', '', 8080, 80, 'tcp');
INSERT INTO port_mappings VALUES ('web', '127.0.0.1', 65535, 53, 'udp');
INSERT INTO helpers VALUES ('db', 'pasta', 0, 0, '', 'intent');
)sql");
  sqlite3_close(raw);
}

TEST(Migration, TwoToThreeKeepsCniPodsAndTheirRowsRemovable) {
  TempDir dir;
  std::string path = dir / "podns.db";
  write_schema_v2_database(path);
  auto store = Store::open(path);
  ASSERT_OK(store);
  auto v = store->schema_version();
  ASSERT_OK(v);
  EXPECT_EQ(*v, kSchemaVersion);  // 2 -> 3 -> ... in one open

  // Every old row is there, made by CNI, with single ports.
  auto web = store->load("web");
  ASSERT_OK(web);
  EXPECT_EQ(web->pod.phase, PodPhase::ready);
  ASSERT_EQ(web->attachments.size(), 1u);
  EXPECT_EQ(web->attachments[0].driver, AttachmentDriver::cni);
  EXPECT_EQ(web->attachments[0].host_ifname, "");
  EXPECT_EQ(web->attachments[0].result, kResult);
  EXPECT_EQ(web->attachments[0].summary.mac, "0a:58:0a:59:00:05");
  ASSERT_EQ(web->ports.size(), 2u);
  for (const auto& p : web->ports) EXPECT_EQ(p.range, 1);
  auto all = store->load_all_summaries();
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].attachments.at(0).driver, AttachmentDriver::cni);
  EXPECT_EQ((*all)[1].attachments.at(0).summary.addresses.size(), 1u);
  EXPECT_EQ((*all)[0].helpers.size(), 1u);

  // The listing still reads only the covering index, now with the two new columns in it.
  auto plan = query_text(path,
                         "EXPLAIN QUERY PLAN SELECT pod, idx, network, ifname, state, mac, driver, host_ifname "
                         "FROM attachments INDEXED BY attachments_summary ORDER BY pod");
  EXPECT_NE(plan.find("COVERING INDEX attachments_summary"), std::string::npos) << plan;
  EXPECT_EQ(query_text(path, "SELECT count(*) FROM port_mappings WHERE \"range\" = 1"), "2\n");

  // The old port rows take part in range conflicts.
  auto clash = store->insert_pod({"new", PodPhase::creating, "{}", "", "", 0}, {{"", "", 8070, 80, "tcp", 20}});
  ASSERT_FALSE(clash);
  EXPECT_TRUE(clash.error().is(Errc::already_exists));
  EXPECT_NE(clash.error().message().find("by pod web"), std::string::npos) << clash.error().message();

  // The old rows can be removed, and the new tables work beside them.
  ASSERT_OK(store->insert_network({"n1", "bridge", "podns1", "{}", 0}));
  ASSERT_OK(store->record_attachment_intent({"web", 1, "n1", "eth1", "", "/run/netns/web", "", "", "",
                                             RowState::intent, {}, AttachmentDriver::native, "vethabc"}));
  ASSERT_OK(store->insert_lease({"n1", "10.90.0.2", "web", 1}));
  ASSERT_OK(store->remove_attachment("web", 0));
  ASSERT_OK(store->delete_pod("db"));
  EXPECT_TRUE(store->delete_network("n1").error().is(Errc::busy));
  ASSERT_OK(store->delete_pod("web"));  // takes the native attachment and its lease with it
  auto leases = store->all_leases();
  ASSERT_OK(leases);
  EXPECT_TRUE(leases->empty());
  EXPECT_OK(store->delete_network("n1"));
  EXPECT_EQ(query_text(path, "SELECT count(*) FROM attachments") + query_text(path, "SELECT count(*) FROM pods") +
                query_text(path, "SELECT count(*) FROM attachment_addresses"),
            "0\n0\n0\n");
  EXPECT_EQ(query_text(path, "PRAGMA foreign_key_check"), "");
}

TEST(Migration, FromTwoToFiveEveryOlderRowIsAPodAndTheKindIsListedFromTheIndex) {
  TempDir dir;
  std::string path = dir / "podns.db";
  write_schema_v2_database(path);
  auto store = Store::open(path);
  ASSERT_OK(store);
  auto all = store->load_all_summaries();
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 2u);
  for (const auto& p : *all) EXPECT_EQ(p.pod.kind, PodKind::pod) << p.pod.name;

  // A CNI attachment's row keeps its kind, in the full rows and in the listing.
  PodRecord cni{"cni:net:c1:eth0", PodPhase::creating, "{}", "/proc/1/ns/net", "", 0};
  cni.kind = PodKind::cni;
  ASSERT_OK(store->insert_pod(cni, {}));
  auto got = store->get_pod(cni.name);
  ASSERT_OK(got);
  EXPECT_EQ(got->kind, PodKind::cni);
  all = store->load_all_summaries();
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].pod.kind, PodKind::cni);
  EXPECT_EQ(query_text(path, "SELECT kind FROM pods ORDER BY name"), "cni\npod\npod\n");
  auto plan = query_text(path,
                         "EXPLAIN QUERY PLAN SELECT name, phase, '', netns_path, userns_path, created_at, "
                         "id_mappings, kind FROM pods INDEXED BY pods_summary ORDER BY name");
  EXPECT_NE(plan.find("COVERING INDEX pods_summary"), std::string::npos) << plan;
  // Any other kind is refused by the schema itself.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(raw, "UPDATE pods SET kind = 'other'", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
}

// What the 2 -> 3 step added, as schema 3 shipped it (on top of kSchemaV2Step).
constexpr const char* kSchemaV3Step = R"sql(
CREATE TABLE networks (
  name TEXT PRIMARY KEY, driver TEXT NOT NULL, bridge TEXT NOT NULL UNIQUE, options TEXT NOT NULL,
  created_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE leases (
  network TEXT NOT NULL REFERENCES networks (name), address TEXT NOT NULL, pod TEXT NOT NULL,
  idx INTEGER NOT NULL, PRIMARY KEY (network, address),
  FOREIGN KEY (pod, idx) REFERENCES attachments (pod, idx) ON DELETE CASCADE) WITHOUT ROWID;
CREATE INDEX leases_by_attachment ON leases (pod, idx);
CREATE TABLE ipam_cursors (
  network TEXT NOT NULL REFERENCES networks (name) ON DELETE CASCADE, "range" TEXT NOT NULL,
  address TEXT NOT NULL, PRIMARY KEY (network, "range")) WITHOUT ROWID;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
ALTER TABLE attachments ADD COLUMN driver TEXT NOT NULL DEFAULT 'cni' CHECK (driver IN ('cni', 'native'));
ALTER TABLE attachments ADD COLUMN host_ifname TEXT NOT NULL DEFAULT '';
DROP INDEX attachments_summary;
CREATE INDEX attachments_summary ON attachments (pod, idx, network, ifname, state, mac, driver, host_ifname);
ALTER TABLE port_mappings ADD COLUMN "range" INTEGER NOT NULL DEFAULT 1
  CHECK ("range" >= 1 AND host_port + "range" - 1 <= 65535 AND container_port + "range" - 1 <= 65535);
CREATE INDEX port_mappings_by_range ON port_mappings ("range");
PRAGMA user_version = 3;
)sql";

TEST(Migration, FromThreeKeepsEveryRowAndAddsPendingDels) {
  TempDir dir;
  std::string path = dir / "podns.db";
  write_schema_v2_database(path);
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    exec_sql(raw, kSchemaV3Step);
    exec_sql(raw, R"sql(
INSERT INTO networks VALUES ('n1', 'bridge', 'podns1', '{"subnets":["10.90.0.0/24"]}', 1700000002);
INSERT INTO attachments VALUES ('web', 1, 'n1', 'eth1', 'podns-web', '/run/netns/web', '', '', '', 'done', '02:70:0a:5a:00:02', 'native', 'vethabc');
INSERT INTO leases VALUES ('n1', '10.90.0.2', 'web', 1);
INSERT INTO ipam_cursors VALUES ('n1', '10.90.0.0/24', '10.90.0.2');
INSERT INTO meta VALUES ('boot_id', 'b0');
UPDATE port_mappings SET "range" = 1;
)sql");
    sqlite3_close(raw);
  }
  // Schema 5 adds pods.kind: the pods rows are compared on the columns they had.
  const std::string pods_before = "SELECT name, phase, spec, netns_path, userns_path, created_at, id_mappings "
                                  "FROM pods ORDER BY name";
  const std::string before = query_text(path, pods_before) +
                             query_text(path, "SELECT * FROM attachments ORDER BY pod, idx") +
                             query_text(path, "SELECT * FROM attachment_addresses") +
                             query_text(path, "SELECT * FROM pins") + query_text(path, "SELECT * FROM port_mappings") +
                             query_text(path, "SELECT * FROM helpers") + query_text(path, "SELECT * FROM networks") +
                             query_text(path, "SELECT * FROM leases") + query_text(path, "SELECT * FROM ipam_cursors") +
                             query_text(path, "SELECT * FROM meta");
  ASSERT_NE(before.find("vethabc"), std::string::npos);

  auto store = Store::open(path);
  ASSERT_OK(store);
  auto v = store->schema_version();
  ASSERT_OK(v);
  EXPECT_EQ(*v, kSchemaVersion);
  // Every row of every older table, byte for byte.
  const std::string after = query_text(path, pods_before) +
                            query_text(path, "SELECT * FROM attachments ORDER BY pod, idx") +
                            query_text(path, "SELECT * FROM attachment_addresses") +
                            query_text(path, "SELECT * FROM pins") + query_text(path, "SELECT * FROM port_mappings") +
                            query_text(path, "SELECT * FROM helpers") + query_text(path, "SELECT * FROM networks") +
                            query_text(path, "SELECT * FROM leases") + query_text(path, "SELECT * FROM ipam_cursors") +
                            query_text(path, "SELECT * FROM meta");
  EXPECT_EQ(after, before);
  auto web = store->load("web");
  ASSERT_OK(web);
  ASSERT_EQ(web->attachments.size(), 2u);
  EXPECT_EQ(web->attachments[1].driver, AttachmentDriver::native);

  // The new table is empty and works.
  auto pending = store->pending_dels();
  ASSERT_OK(pending);
  EXPECT_TRUE(pending->empty());
  PendingDel p;
  p.pod = "db";
  p.network = "podns";
  p.container_id = "podns-db";
  p.ifname = "eth0";
  p.netns_path = "/run/netns/db";
  p.config = "{}";
  p.runtime_config = "{}";
  p.attempts = 1;
  ASSERT_OK(store->transaction([&]() -> Status {
    if (auto s = store->remove_attachment("db", 0); !s) return s;
    return store->add_pending_del(p);
  }));
  ASSERT_OK(store->delete_pod("db"));
  pending = store->pending_dels();
  ASSERT_OK(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_GT((*pending)[0].created_at, 0);  // filled with now
  EXPECT_EQ(query_text(path, "PRAGMA foreign_key_check"), "");
}

// What the 3 -> 4 step added, as schema 4 shipped it: pending CNI DELs.
constexpr const char* kSchemaV4Step = R"sql(
CREATE TABLE pending_dels (
  id INTEGER PRIMARY KEY, pod TEXT NOT NULL, network TEXT NOT NULL, container_id TEXT NOT NULL,
  ifname TEXT NOT NULL, netns_path TEXT NOT NULL, netns_ino INTEGER NOT NULL DEFAULT 0, config TEXT NOT NULL,
  runtime_config TEXT NOT NULL, result TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL, last_attempt_at INTEGER NOT NULL DEFAULT 0,
  UNIQUE (network, container_id, ifname));
PRAGMA user_version = 4;
)sql";

// A schema 4 database (pending DELs, no pods.kind) takes the 4 -> 5 step alone: its pending DELs
// stay, its pods become kind pod.
TEST(Migration, FromFourKeepsPendingDelsAndMakesEveryRowAPod) {
  TempDir dir;
  std::string path = dir / "podns.db";
  write_schema_v2_database(path);
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    exec_sql(raw, kSchemaV3Step);
    exec_sql(raw, kSchemaV4Step);
    exec_sql(raw, R"sql(
INSERT INTO pending_dels (pod, network, container_id, ifname, netns_path, config, runtime_config, attempts, created_at)
  VALUES ('gone', 'podns', 'podns-gone', 'eth0', '/run/netns/gone', '{}', '{}', 2, 1700000003);
)sql");
    sqlite3_close(raw);
  }
  const std::string pending_before = query_text(path, "SELECT * FROM pending_dels");
  ASSERT_NE(pending_before.find("podns-gone"), std::string::npos);

  auto store = Store::open(path);
  ASSERT_OK(store);
  auto v = store->schema_version();
  ASSERT_OK(v);
  EXPECT_EQ(*v, 5);
  EXPECT_EQ(query_text(path, "SELECT * FROM pending_dels"), pending_before);
  auto pending = store->pending_dels();
  ASSERT_OK(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].container_id, "podns-gone");
  EXPECT_EQ(query_text(path, "SELECT name, kind FROM pods ORDER BY name"), "db|pod\nweb|pod\n");
  auto all = store->load_all_summaries();
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 2u);
  for (const auto& p : *all) EXPECT_EQ(p.pod.kind, PodKind::pod) << p.pod.name;
  EXPECT_EQ(query_text(path, "PRAGMA foreign_key_check"), "");
}

}  // namespace
}  // namespace podns::state
