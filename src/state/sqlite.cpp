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

Result<Stmt> Db::prepare(std::string_view sql) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &s, nullptr);
  if (rc != SQLITE_OK) return std::unexpected(error_from(db_, rc, "prepare statement"));
  return Stmt(db_, s);
}

Status Db::exec(std::string_view sql, std::string_view doing) {
  std::string copy(sql);
  int rc = sqlite3_exec(db_, copy.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return std::unexpected(error_from(db_, rc, doing));
  return {};
}

}  // namespace podns::state::sql
