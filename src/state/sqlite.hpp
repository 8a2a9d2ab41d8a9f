// A thin RAII layer over the SQLite C API for the state store: one connection, prepared
// statements with bind/step, and SQLite result codes mapped to podns errors.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "podns/error.hpp"

namespace podns::state::sql {

// Prepared statements a connection keeps between uses, keyed by their SQL text: preparing
// (parsing, planning) costs more than running the short statements of a pod create.
class StmtCache {
 public:
  StmtCache() = default;
  StmtCache(const StmtCache&) = delete;
  StmtCache& operator=(const StmtCache&) = delete;
  ~StmtCache();
  // A kept statement for sql, or nullptr.
  sqlite3_stmt* take(std::string_view sql);
  // Keeps s (reset, bindings cleared) for the next take(), or finalizes it.
  void give_back(sqlite3_stmt* s);

 private:
  std::unordered_map<std::string, sqlite3_stmt*> idle_;
};

// SQLITE_NOTADB/CORRUPT -> Errc::corrupt, BUSY/LOCKED -> Errc::busy, CANTOPEN/IOERR/... -> errno-ish.
Error error_from(sqlite3* db, int rc, std::string_view doing);

class Stmt {
 public:
  Stmt() = default;
  // home: the cache s goes back to when this Stmt is done with it (nullptr: finalized).
  Stmt(sqlite3* db, sqlite3_stmt* s, StmtCache* home = nullptr) : db_(db), s_(s), home_(home) {}
  Stmt(Stmt&& o) noexcept : db_(o.db_), s_(std::exchange(o.s_, nullptr)), home_(o.home_) {}
  Stmt& operator=(Stmt&& o) noexcept {
    if (this != &o) {
      release();
      db_ = o.db_;
      s_ = std::exchange(o.s_, nullptr);
      home_ = o.home_;
    }
    return *this;
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { release(); }

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
  void release() {
    if (!s_) return;
    if (home_)
      home_->give_back(std::exchange(s_, nullptr));
    else
      sqlite3_finalize(std::exchange(s_, nullptr));
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* s_ = nullptr;
  StmtCache* home_ = nullptr;
};

class Db {
 public:
  Db() = default;
  explicit Db(sqlite3* db) : db_(db) {}
  Db(Db&& o) noexcept : cache_(std::move(o.cache_)), db_(std::exchange(o.db_, nullptr)) {}
  Db& operator=(Db&& o) noexcept {
    if (this != &o) {
      close();
      cache_ = std::move(o.cache_);
      db_ = std::exchange(o.db_, nullptr);
    }
    return *this;
  }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db() { close(); }
  sqlite3* get() const { return db_; }

  // A statement from the connection's cache when sql was prepared before; otherwise prepared now
  // and kept after use. Two live Stmts of the same text are two statements.
  [[nodiscard]] Result<Stmt> prepare(std::string_view sql);
  // Runs one or more statements without parameters.
  [[nodiscard]] Status exec(std::string_view sql, std::string_view doing);

 private:
  void close() {
    cache_.reset();  // finalizes the kept statements first: a connection with live ones stays open
    if (db_) sqlite3_close_v2(std::exchange(db_, nullptr));
  }

  // Heap-held so that Stmts keep a valid home across moves of the Db.
  std::unique_ptr<StmtCache> cache_ = std::make_unique<StmtCache>();
  sqlite3* db_ = nullptr;
};

}  // namespace podns::state::sql
