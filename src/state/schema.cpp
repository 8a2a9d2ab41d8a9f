#include "state/schema.hpp"

#include <fmt/format.h>

#include <array>

#include "podns/state/store.hpp"

namespace podns::state {
namespace {

// migrations[i] takes the schema from version i to i + 1. Append only; never edit a shipped step.
constexpr std::array<std::string_view, kSchemaVersion> kMigrations = {
    // 0 -> 1
    R"sql(
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
)sql",
};

}  // namespace

Status migrate(sql::Db& db) {
  // BEGIN IMMEDIATE: two processes opening a fresh database at once must not both create tables.
  if (auto s = db.exec("BEGIN IMMEDIATE", "begin schema migration"); !s) return s;
  auto rollback = [&](Error e) -> Status {
    (void)db.exec("ROLLBACK", "rollback");
    return std::unexpected(std::move(e));
  };
  auto st = db.prepare("PRAGMA user_version");
  if (!st) return rollback(st.error());
  auto row = st->step("read schema version");
  if (!row) return rollback(row.error());
  int version = *row ? static_cast<int>(st->integer(0)) : 0;
  st = sql::Stmt();  // finalize before altering the schema
  if (version > kSchemaVersion)
    return rollback(Error(Errc::unsupported,
                          fmt::format("database schema version {} is newer than this podns supports ({})",
                                      version, kSchemaVersion)));
  for (int v = version; v < kSchemaVersion; ++v) {
    if (auto s = db.exec(kMigrations[static_cast<size_t>(v)], fmt::format("migrate schema {} -> {}", v, v + 1)); !s)
      return rollback(s.error());
  }
  if (version != kSchemaVersion) {
    if (auto s = db.exec(fmt::format("PRAGMA user_version = {}", kSchemaVersion), "set schema version"); !s)
      return rollback(s.error());
  }
  return db.exec("COMMIT", "commit schema migration");
}

}  // namespace podns::state
