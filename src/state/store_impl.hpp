// What the Store's source files share (private to src/state): the connection behind a Store and
// the one-statement helper. store.cpp has pods and their rows; store_networks.cpp has native
// networks, leases, IPAM cursors and metadata.
#pragma once

#include <sys/types.h>

#include <string_view>

#include "podns/state/store.hpp"
#include "state/sqlite.hpp"

namespace podns::state {

struct Store::Impl {
  sql::Db db;
  int tx_depth = 0;  // > 0 inside Store::transaction: nested calls join it
  // The file the connection was opened on and by whom, for reuse (store_pool.hpp).
  dev_t file_dev = 0;
  ino_t file_ino = 0;
  pid_t owner_pid = 0;
};

// Prepare, bind (?1, ?2, ... in order), run to completion; return the number of rows changed.
template <class... Args>
Result<int> run(sql::Db& db, std::string_view sqltext, std::string_view doing, const Args&... args) {
  auto st = db.prepare(sqltext);
  if (!st) return fail_with(st, doing);
  int i = 1;
  (st->bind(i++, args), ...);
  if (auto s = st->exec(doing); !s) return fail(s.error());
  return st->changes();
}

}  // namespace podns::state
