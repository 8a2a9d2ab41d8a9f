// Schema and migrations of the state database (PRAGMA user_version).
#pragma once

#include "state/sqlite.hpp"

namespace podns::state {

// Brings a database of version 0 (new) .. kSchemaVersion up to kSchemaVersion in one transaction;
// refuses (Errc::unsupported) a database written by a newer podns.
[[nodiscard]] Status migrate(sql::Db& db);

}  // namespace podns::state
