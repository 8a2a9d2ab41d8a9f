#include "state/sqlite.hpp"

#include <fmt/format.h>

namespace podns::state::sql {

Error error_from(sqlite3* db, int rc, std::string_view doing) {
  std::string detail = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string what = fmt::format("{} ({})", doing, detail);
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
    case SQLITE_FORMAT:
      return Error(Errc::corrupt, what);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error(Errc::busy, what);
    case SQLITE_CONSTRAINT:
      return Error(Errc::already_exists, what);
    case SQLITE_CANTOPEN:
      return Error::from_errno(db && sqlite3_system_errno(db) ? sqlite3_system_errno(db) : ENOENT, what);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return Error::from_errno(EACCES, what);
    case SQLITE_FULL:
      return Error::from_errno(ENOSPC, what);
    case SQLITE_IOERR:
      return Error::from_errno(db && sqlite3_system_errno(db) ? sqlite3_system_errno(db) : EIO, what);
    default:
      return Error(Errc::corrupt, what);
  }
}

Result<bool> Stmt::step(std::string_view doing) {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) {
    sqlite3_reset(s_);
    return false;
  }
  Error e = error_from(db_, rc, doing);
  sqlite3_reset(s_);
  return std::unexpected(std::move(e));
}

Status Stmt::exec(std::string_view doing) {
  for (;;) {
    auto r = step(doing);
    if (!r) return std::unexpected(r.error());
    if (!*r) return {};
  }
}

namespace {

// Statements podns runs are a few dozen fixed texts; a text made with values in it would fill the
// cache, so beyond this size statements are finalized after use instead.
constexpr size_t kMaxCachedStatements = 128;

}  // namespace

StmtCache::~StmtCache() {
  for (auto& [sql, s] : idle_) sqlite3_finalize(s);
}

sqlite3_stmt* StmtCache::take(std::string_view sql) {
  auto it = idle_.find(std::string(sql));
  if (it == idle_.end()) return nullptr;
  sqlite3_stmt* s = it->second;
  idle_.erase(it);
  return s;
}

void StmtCache::give_back(sqlite3_stmt* s) {
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  if (idle_.size() >= kMaxCachedStatements || !idle_.try_emplace(sqlite3_sql(s), s).second) sqlite3_finalize(s);
}

Result<Stmt> Db::prepare(std::string_view sql) {
  if (sqlite3_stmt* kept = cache_->take(sql)) return Stmt(db_, kept, cache_.get());
  sqlite3_stmt* s = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &s, &tail);
  if (rc != SQLITE_OK) return std::unexpected(error_from(db_, rc, "prepare statement"));
  // Only a statement whose text is all of sql can be found again under that text.
  bool whole = tail == sql.data() + sql.size();
  return Stmt(db_, s, whole ? cache_.get() : nullptr);
}

Status Db::exec(std::string_view sql, std::string_view doing) {
  // One statement (BEGIN, COMMIT, ...): through the cache, as prepare() would.
  if (sql.find(';') == std::string_view::npos) {
    auto st = prepare(sql);
    if (!st) return std::unexpected(Error(st.error()).context(doing));
    return st->exec(doing);
  }
  std::string copy(sql);
  int rc = sqlite3_exec(db_, copy.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return std::unexpected(error_from(db_, rc, doing));
  return {};
}

}  // namespace podns::state::sql
