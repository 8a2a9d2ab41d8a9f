// A thin RAII layer over the SQLite C API for the state store: one connection, prepared
// statements with bind/step, and SQLite result codes mapped to podns errors.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "podns/error.hpp"

namespace podns::state::sql {

// SQLITE_NOTADB/CORRUPT -> Errc::corrupt, BUSY/LOCKED -> Errc::busy, CANTOPEN/IOERR/... -> errno-ish.
Error error_from(sqlite3* db, int rc, std::string_view doing);

class Stmt {
 public:
  Stmt() = default;
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  Stmt(Stmt&& o) noexcept : db_(o.db_), s_(std::exchange(o.s_, nullptr)) {}
  Stmt& operator=(Stmt&& o) noexcept {
    if (this != &o) {
      if (s_) sqlite3_finalize(s_);
      db_ = o.db_;
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() {
    if (s_) sqlite3_finalize(s_);
  }

  Stmt& bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Stmt& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Stmt& bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& bind(int i, int v) { return bind(i, static_cast<int64_t>(v)); }

  // true: a row is ready; false: done.
  [[nodiscard]] Result<bool> step(std::string_view doing);
  // Step to completion (statements without result rows).
  [[nodiscard]] Status exec(std::string_view doing);

  std::string text(int col) const {
    auto p = sqlite3_column_text(s_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(s_, col)))
             : std::string();
  }
  int64_t integer(int col) const { return sqlite3_column_int64(s_, col); }
  // Rows changed by the last completed statement on this connection.
  int changes() const { return sqlite3_changes(db_); }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* s_ = nullptr;
};

class Db {
 public:
  Db() = default;
  explicit Db(sqlite3* db) : db_(db) {}
  Db(Db&& o) noexcept : db_(std::exchange(o.db_, nullptr)) {}
  Db& operator=(Db&& o) noexcept {
    if (this != &o) {
      if (db_) sqlite3_close_v2(db_);
      db_ = std::exchange(o.db_, nullptr);
    }
    return *this;
  }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db() {
    if (db_) sqlite3_close_v2(db_);
  }
  sqlite3* get() const { return db_; }

  [[nodiscard]] Result<Stmt> prepare(std::string_view sql);
  // Runs one or more statements without parameters.
  [[nodiscard]] Status exec(std::string_view sql, std::string_view doing);

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace podns::state::sql
