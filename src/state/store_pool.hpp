// Idle state-database connections kept per process (private to src/state).
//
// A fresh SQLite connection starts with a cold page cache: opening it, checking the WAL mode and
// the schema and reading the pages a `pod create` touches cost about as much as the rest of the
// create. A runtime that links libpodns calls it over and over, so a closed Store hands its
// connection back here and the next Store::open of the same file takes it again. A connection is
// reused only by the process that opened it (SQLite connections must not cross fork), only while
// the path still names the same file (a state directory removed and made again gets a fresh
// connection), and only when it is idle (no transaction open).
#pragma once

#include <memory>
#include <string>

#include "podns/state/store.hpp"

namespace podns::state::pool {

// An idle connection to the database file at path, or nullptr when there is none that fits.
std::unique_ptr<Store::Impl> take(const std::string& path);
// Keeps impl for a later take(), or closes it (busy, another process's, or the pool is full).
void give_back(const std::string& path, std::unique_ptr<Store::Impl> impl);
// Closes every idle connection of this process.
void close_all();

}  // namespace podns::state::pool
