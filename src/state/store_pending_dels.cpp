// Schema 4 rows of the Store: CNI DELs still owed to attachments whose rows are gone. The retry
// logic is pod/pending_dels.cpp; this file only keeps the rows.
#include <ctime>

#include <fmt/format.h>

#include "podns/state/store.hpp"
#include "state/sqlite.hpp"
#include "state/store_impl.hpp"

namespace podns::state {
namespace {

constexpr std::string_view kPendingCols =
    "id, pod, network, container_id, ifname, netns_path, netns_ino, config, runtime_config, result, attempts, "
    "last_error, created_at, last_attempt_at";

PendingDel pending_from(const sql::Stmt& st) {
  PendingDel p;
  p.id = st.integer(0);
  p.pod = st.text(1);
  p.network = st.text(2);
  p.container_id = st.text(3);
  p.ifname = st.text(4);
  p.netns_path = st.text(5);
  p.netns_ino = static_cast<uint64_t>(st.integer(6));
  p.config = st.text(7);
  p.runtime_config = st.text(8);
  p.result = st.text(9);
  p.attempts = static_cast<int>(st.integer(10));
  p.last_error = st.text(11);
  p.created_at = st.integer(12);
  p.last_attempt_at = st.integer(13);
  return p;
}

std::string describe(const PendingDel& p) {
  return fmt::format("pending DEL of {} on network {} ({})", p.container_id, p.network, p.ifname);
}

}  // namespace

Status Store::add_pending_del(const PendingDel& p) {
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  // A newer record of the same attachment names the newer ADD (its config, netns, result); the
  // attempts of both count.
  auto r = run(impl_->db,
               "INSERT INTO pending_dels (pod, network, container_id, ifname, netns_path, netns_ino, config, "
               "runtime_config, result, attempts, last_error, created_at, last_attempt_at) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
               "ON CONFLICT (network, container_id, ifname) DO UPDATE SET pod = excluded.pod, "
               "netns_path = excluded.netns_path, netns_ino = excluded.netns_ino, config = excluded.config, "
               "runtime_config = excluded.runtime_config, result = excluded.result, "
               "attempts = attempts + excluded.attempts, last_error = excluded.last_error, "
               "last_attempt_at = excluded.last_attempt_at",
               "record " + describe(p), p.pod, p.network, p.container_id, p.ifname, p.netns_path,
               static_cast<int64_t>(p.netns_ino), p.config, p.runtime_config, p.result, p.attempts, p.last_error,
               p.created_at ? p.created_at : now, p.last_attempt_at);
  if (!r) return fail(r.error());
  return {};
}

Result<std::vector<PendingDel>> Store::pending_dels() {
  auto st = impl_->db.prepare(fmt::format("SELECT {} FROM pending_dels ORDER BY id", kPendingCols));
  if (!st) return fail(st.error());
  std::vector<PendingDel> out;
  for (;;) {
    auto row = st->step("read pending DELs");
    if (!row) return fail(row.error());
    if (!*row) return out;
    out.push_back(pending_from(*st));
  }
}

Result<PendingDel> Store::pending_del(int64_t id) {
  auto st = impl_->db.prepare(fmt::format("SELECT {} FROM pending_dels WHERE id = ?1", kPendingCols));
  if (!st) return fail(st.error());
  st->bind(1, id);
  auto row = st->step("read a pending DEL");
  if (!row) return fail(row.error());
  if (!*row) return fail(Errc::not_found, fmt::format("pending DEL {}", id));
  return pending_from(*st);
}

Status Store::remove_pending_del(int64_t id) {
  auto r = run(impl_->db, "DELETE FROM pending_dels WHERE id = ?1", fmt::format("forget pending DEL {}", id), id);
  if (!r) return fail(r.error());
  return {};
}

Status Store::note_pending_del_failure(int64_t id, const std::string& error, int64_t when) {
  auto r = run(impl_->db,
               "UPDATE pending_dels SET attempts = attempts + 1, last_error = ?2, last_attempt_at = ?3 WHERE id = ?1",
               fmt::format("record a failed retry of pending DEL {}", id), id, error, when);
  if (!r) return fail(r.error());
  return {};
}

Status Store::forget_pending_del_netns() {
  return impl_->db.exec("UPDATE pending_dels SET netns_ino = 0 WHERE netns_ino != 0",
                        "forget the namespaces of pending DELs");
}

}  // namespace podns::state
