#include "state/schema.hpp"

#include <fmt/format.h>

#include <array>

#include "podns/state/store.hpp"
#include "state/summary.hpp"

namespace podns::state {
namespace {

// 1 -> 2: fill the new summary columns of the rows an older podns wrote, from their stored CNI
// results, inside the migration's transaction (all or nothing).
Status backfill_summaries(sql::Db& db) {
  struct Row {
    std::string pod;
    int64_t idx;
    AttachmentSummary summary;
  };
  std::vector<Row> rows;
  {
    auto st = db.prepare("SELECT pod, idx, ifname, result FROM attachments WHERE result != ''");
    if (!st) return fail(st.error());
    for (;;) {
      auto row = st->step("read attachments to summarize");
      if (!row) return fail(row.error());
      if (!*row) break;
      rows.push_back({st->text(0), st->integer(1), summarize_cni_result(st->text(3), st->text(2))});
    }
  }
  auto mac = db.prepare("UPDATE attachments SET mac = ?3 WHERE pod = ?1 AND idx = ?2");
  auto addr = db.prepare("INSERT INTO attachment_addresses (pod, idx, seq, address, gateway) VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!mac) return fail(mac.error());
  if (!addr) return fail(addr.error());
  for (const auto& r : rows) {
    mac->bind(1, r.pod).bind(2, r.idx).bind(3, r.summary.mac);
    if (auto s = mac->exec("store attachment summary"); !s) return s;
    for (size_t i = 0; i < r.summary.addresses.size(); ++i) {
      addr->bind(1, r.pod).bind(2, r.idx).bind(3, static_cast<int64_t>(i));
      addr->bind(4, r.summary.addresses[i].address).bind(5, r.summary.addresses[i].gateway);
      if (auto s = addr->exec("store attachment address"); !s) return s;
    }
  }
  return {};
}

struct Migration {
  std::string_view sql;
  Status (*backfill)(sql::Db&) = nullptr;  // runs after sql, in the same transaction
};

// migrations[i] takes the schema from version i to i + 1. Append only; never edit a shipped step.
const std::array<Migration, kSchemaVersion> kMigrations = {{
    // 0 -> 1
    {R"sql(
CREATE TABLE pods (
  name        TEXT PRIMARY KEY,
  phase       TEXT NOT NULL CHECK (phase IN ('creating', 'ready', 'removing')),
  spec        TEXT NOT NULL,
  netns_path  TEXT NOT NULL DEFAULT '',
  userns_path TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE pins (
  pod   TEXT NOT NULL REFERENCES pods(name) ON DELETE CASCADE,
  type  TEXT NOT NULL,
  path  TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('intent', 'done')),
  PRIMARY KEY (pod, type)
) WITHOUT ROWID;
CREATE TABLE attachments (
  pod            TEXT NOT NULL REFERENCES pods(name) ON DELETE CASCADE,
  idx            INTEGER NOT NULL,
  network        TEXT NOT NULL,
  ifname         TEXT NOT NULL,
  container_id   TEXT NOT NULL,
  netns_path     TEXT NOT NULL,
  config         TEXT NOT NULL,
  runtime_config TEXT NOT NULL,
  result         TEXT NOT NULL DEFAULT '',
  state          TEXT NOT NULL CHECK (state IN ('intent', 'done')),
  PRIMARY KEY (pod, idx)
) WITHOUT ROWID;
CREATE TABLE port_mappings (
  pod            TEXT NOT NULL REFERENCES pods(name) ON DELETE CASCADE,
  host_ip        TEXT NOT NULL,
  host_port      INTEGER NOT NULL CHECK (host_port BETWEEN 1 AND 65535),
  container_port INTEGER NOT NULL CHECK (container_port BETWEEN 1 AND 65535),
  protocol       TEXT NOT NULL CHECK (protocol IN ('tcp', 'udp', 'sctp')),
  PRIMARY KEY (pod, host_ip, host_port, protocol)
) WITHOUT ROWID;
CREATE INDEX port_mappings_by_port ON port_mappings (host_port, protocol);
CREATE TABLE helpers (
  pod        TEXT NOT NULL REFERENCES pods(name) ON DELETE CASCADE,
  kind       TEXT NOT NULL,
  pid        INTEGER NOT NULL DEFAULT 0,
  start_time INTEGER NOT NULL DEFAULT 0,
  record     TEXT NOT NULL DEFAULT '',
  state      TEXT NOT NULL CHECK (state IN ('intent', 'done')),
  PRIMARY KEY (pod, kind)
) WITHOUT ROWID;
)sql"},
    // 1 -> 2: summaries for `pod ls` (no JSON parsing per listing). json_extract gives an object
    // member back as JSON text; a spec that is not JSON (never written by podns) keeps ''.
    {R"sql(
ALTER TABLE pods ADD COLUMN id_mappings TEXT NOT NULL DEFAULT '';
UPDATE pods SET id_mappings = COALESCE(json_extract(spec, '$.idMappings'), '') WHERE json_valid(spec);
ALTER TABLE attachments ADD COLUMN mac TEXT NOT NULL DEFAULT '';
CREATE TABLE attachment_addresses (
  pod     TEXT NOT NULL,
  idx     INTEGER NOT NULL,
  seq     INTEGER NOT NULL,
  address TEXT NOT NULL,
  gateway TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (pod, idx, seq),
  FOREIGN KEY (pod, idx) REFERENCES attachments (pod, idx) ON DELETE CASCADE
) WITHOUT ROWID;
-- Covering indexes for the listing: an attachment row carries its conflist and CNI result (~2 KB),
-- so a scan of the table reads every one of its pages; these narrow copies of the columns ls
-- reads are a tenth of that (the planner scans them instead of the tables).
CREATE INDEX attachments_summary ON attachments (pod, idx, network, ifname, state, mac);
CREATE INDEX pods_summary ON pods (name, phase, netns_path, userns_path, created_at, id_mappings);
)sql",
     backfill_summaries},
    // 2 -> 3: native networks. Rows of older podns were all made by CNI with single ports: the
    // column defaults say so.
    {R"sql(
CREATE TABLE networks (
  name       TEXT PRIMARY KEY,
  driver     TEXT NOT NULL,
  bridge     TEXT NOT NULL UNIQUE,
  options    TEXT NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
-- The primary key is what makes a double allocation impossible, across processes too. No ON
-- DELETE on network: a network with leases cannot be deleted. A lease goes with its attachment
-- (and so with its pod).
CREATE TABLE leases (
  network TEXT NOT NULL REFERENCES networks (name),
  address TEXT NOT NULL,
  pod     TEXT NOT NULL,
  idx     INTEGER NOT NULL,
  PRIMARY KEY (network, address),
  FOREIGN KEY (pod, idx) REFERENCES attachments (pod, idx) ON DELETE CASCADE
) WITHOUT ROWID;
-- For the cascade from attachments and for release_leases: without it every delete of an
-- attachment would scan the leases.
CREATE INDEX leases_by_attachment ON leases (pod, idx);
CREATE TABLE ipam_cursors (
  network TEXT NOT NULL REFERENCES networks (name) ON DELETE CASCADE,
  "range" TEXT NOT NULL,
  address TEXT NOT NULL,
  PRIMARY KEY (network, "range")
) WITHOUT ROWID;
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
ALTER TABLE attachments ADD COLUMN driver TEXT NOT NULL DEFAULT 'cni' CHECK (driver IN ('cni', 'native'));
ALTER TABLE attachments ADD COLUMN host_ifname TEXT NOT NULL DEFAULT '';
-- The listing reads the two new columns too: the covering index grows by them.
DROP INDEX attachments_summary;
CREATE INDEX attachments_summary ON attachments (pod, idx, network, ifname, state, mac, driver, host_ifname);
ALTER TABLE port_mappings ADD COLUMN "range" INTEGER NOT NULL DEFAULT 1
  CHECK ("range" >= 1 AND host_port + "range" - 1 <= 65535 AND container_port + "range" - 1 <= 65535);
-- max("range") in one index probe: it bounds the scan for overlapping ranges when a pod is added.
CREATE INDEX port_mappings_by_range ON port_mappings ("range");
)sql"},
    // 3 -> 4: CNI DELs still owed. A row outlives its pod (no foreign key): it is written in the
    // transaction that drops an attachment whose DEL failed, and goes once a retried DEL succeeds.
    {R"sql(
CREATE TABLE pending_dels (
  id              INTEGER PRIMARY KEY,
  pod             TEXT NOT NULL,
  network         TEXT NOT NULL,
  container_id    TEXT NOT NULL,
  ifname          TEXT NOT NULL,
  netns_path      TEXT NOT NULL,
  netns_ino       INTEGER NOT NULL DEFAULT 0,
  config          TEXT NOT NULL,
  runtime_config  TEXT NOT NULL,
  result          TEXT NOT NULL DEFAULT '',
  attempts        INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT NOT NULL DEFAULT '',
  created_at      INTEGER NOT NULL,
  last_attempt_at INTEGER NOT NULL DEFAULT 0,
  UNIQUE (network, container_id, ifname)
);
)sql"},
    // 4 -> 5: the kind of a pods row: a podns pod, or a CNI attachment that the podns-bridge
    // plugin made for another runtime. Every older row is a pod. Listings read it: the covering
    // index grows by it.
    {R"sql(
ALTER TABLE pods ADD COLUMN kind TEXT NOT NULL DEFAULT 'pod' CHECK (kind IN ('pod', 'cni'));
DROP INDEX pods_summary;
CREATE INDEX pods_summary ON pods (name, phase, netns_path, userns_path, created_at, id_mappings, kind);
)sql"},
}};

}  // namespace

Result<int> read_schema_version(sql::Db& db) {
  auto st = db.prepare("PRAGMA user_version");
  if (!st) return fail(st.error());
  auto row = st->step("read schema version");
  if (!row) return fail(row.error());
  return *row ? static_cast<int>(st->integer(0)) : 0;
}

Status migrate(sql::Db& db) {
  // The common case, an up-to-date database, needs no write lock: `pod ls` must not queue behind
  // a writer (WAL lets readers through) nor take one itself.
  auto current = read_schema_version(db);
  if (!current) return fail(current.error());
  if (*current == kSchemaVersion) return {};
  // BEGIN IMMEDIATE: two processes opening a fresh database at once must not both create tables.
  if (auto s = db.exec("BEGIN IMMEDIATE", "begin schema migration"); !s) return s;
  auto rollback = [&](Error e) -> Status {
    (void)db.exec("ROLLBACK", "rollback");
    return std::unexpected(std::move(e));
  };
  // Read again under the lock: another process may have migrated meanwhile.
  auto v = read_schema_version(db);
  if (!v) return rollback(v.error());
  int version = *v;
  if (version > kSchemaVersion)
    return rollback(Error(Errc::unsupported,
                          fmt::format("database schema version {} is newer than this podns supports ({})",
                                      version, kSchemaVersion)));
  for (int v = version; v < kSchemaVersion; ++v) {
    const auto& m = kMigrations[static_cast<size_t>(v)];
    auto doing = fmt::format("migrate schema {} -> {}", v, v + 1);
    if (auto s = db.exec(m.sql, doing); !s) return rollback(s.error());
    if (m.backfill) {
      if (auto s = m.backfill(db); !s) return rollback(Error(s.error()).context(doing));
    }
  }
  if (version != kSchemaVersion) {
    if (auto s = db.exec(fmt::format("PRAGMA user_version = {}", kSchemaVersion), "set schema version"); !s)
      return rollback(s.error());
  }
  return db.exec("COMMIT", "commit schema migration");
}

}  // namespace podns::state
