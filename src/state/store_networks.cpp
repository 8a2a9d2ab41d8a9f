// Schema 3 rows of the Store: native networks, their IP leases and IPAM cursors, and metadata.
// The allocation logic is network/ipam.cpp; this file only keeps the rows and turns constraint
// failures into errors that say which network, address or pod is in the way.
#include <ctime>

#include <fmt/format.h>

#include "podns/state/store.hpp"
#include "state/sqlite.hpp"
#include "state/store_impl.hpp"

namespace podns::state {
namespace {

constexpr std::string_view kNetworkCols = "name, driver, bridge, options, created_at";

NetworkRecord network_from(const sql::Stmt& st) {
  return NetworkRecord{st.text(0), st.text(1), st.text(2), st.text(3), st.integer(4)};
}

Lease lease_from(const sql::Stmt& st) {
  return Lease{st.text(0), st.text(1), st.text(2), static_cast<int>(st.integer(3))};
}

// The first column of the first row of a query, or nullopt when it gives none.
template <class... Args>
Result<std::optional<std::string>> first_text(sql::Db& db, std::string_view sqltext, std::string_view doing,
                                              const Args&... args) {
  auto st = db.prepare(sqltext);
  if (!st) return fail_with(st, doing);
  [[maybe_unused]] int i = 1;
  (st->bind(i++, args), ...);
  auto row = st->step(doing);
  if (!row) return fail(row.error());
  if (!*row) return std::nullopt;
  return st->text(0);
}

template <class T, class... Args>
Result<std::vector<T>> select_all(sql::Db& db, std::string_view sqltext, std::string_view doing,
                                  T (*from)(const sql::Stmt&), const Args&... args) {
  auto st = db.prepare(sqltext);
  if (!st) return fail_with(st, doing);
  [[maybe_unused]] int i = 1;
  (st->bind(i++, args), ...);
  std::vector<T> out;
  for (;;) {
    auto row = st->step(doing);
    if (!row) return fail(row.error());
    if (!*row) return out;
    out.push_back(from(*st));
  }
}

std::string holder(const Lease& l) { return fmt::format("pod {} (attachment {})", l.pod, l.index); }

}  // namespace

// --- networks ---

Status Store::insert_network(const NetworkRecord& n) {
  auto doing = fmt::format("record network {}", n.name);
  return transaction([&]() -> Status {
    // The constraints hold anyway; asking first names what is in the way.
    auto same_name = first_text(impl_->db, "SELECT name FROM networks WHERE name = ?1", doing, n.name);
    if (!same_name) return fail(same_name.error());
    if (*same_name) return fail(Errc::already_exists, fmt::format("network {}", n.name));
    auto same_bridge = first_text(impl_->db, "SELECT name FROM networks WHERE bridge = ?1", doing, n.bridge);
    if (!same_bridge) return fail(same_bridge.error());
    if (*same_bridge)
      return fail(Errc::already_exists,
                  fmt::format("{}: bridge {} belongs to network {}", doing, n.bridge, **same_bridge));
    int64_t now = n.created_at ? n.created_at : static_cast<int64_t>(std::time(nullptr));
    auto r = run(impl_->db,
                 "INSERT INTO networks (name, driver, bridge, options, created_at) VALUES (?1, ?2, ?3, ?4, ?5)", doing,
                 n.name, n.driver, n.bridge, n.options, now);
    if (!r) return fail(r.error());
    return {};
  });
}

Result<NetworkRecord> Store::get_network(const std::string& name) {
  auto doing = fmt::format("read network {}", name);
  auto st = impl_->db.prepare(fmt::format("SELECT {} FROM networks WHERE name = ?1", kNetworkCols));
  if (!st) return fail_with(st, doing);
  st->bind(1, name);
  auto row = st->step(doing);
  if (!row) return fail(row.error());
  if (!*row) return fail(Errc::not_found, fmt::format("network {}", name));
  return network_from(*st);
}

Result<std::vector<NetworkRecord>> Store::list_networks() {
  return select_all(impl_->db, fmt::format("SELECT {} FROM networks ORDER BY name", kNetworkCols), "list networks",
                    network_from);
}

Status Store::delete_network(const std::string& name) {
  auto doing = fmt::format("delete network {}", name);
  return transaction([&]() -> Status {
    // The foreign key from leases refuses the delete by itself; looking first names the pod. A
    // native attachment may exist before its lease does (an intent), so it counts too.
    auto leased = first_text(impl_->db, "SELECT pod FROM leases WHERE network = ?1 LIMIT 1", doing, name);
    if (!leased) return fail(leased.error());
    if (*leased)
      return fail(Errc::busy, fmt::format("{}: pod {} holds an address on it", doing, **leased));
    auto attached = first_text(impl_->db,
                               "SELECT pod FROM attachments WHERE network = ?1 AND driver = 'native' LIMIT 1",
                               doing, name);
    if (!attached) return fail(attached.error());
    if (*attached) return fail(Errc::busy, fmt::format("{}: pod {} is attached to it", doing, **attached));
    // ipam_cursors go with it (ON DELETE CASCADE).
    auto r = run(impl_->db, "DELETE FROM networks WHERE name = ?1", doing, name);
    if (!r && r.error().is(Errc::already_exists))  // a constraint: only the leases' foreign key
      return fail(Errc::busy, fmt::format("{}: addresses on it are leased", doing));
    if (!r) return fail(r.error());
    return {};
  });
}

// --- leases ---

Status Store::insert_lease(const Lease& l) {
  auto doing = fmt::format("lease {} on network {} to pod {}", l.address, l.network, l.pod);
  auto r = run(impl_->db, "INSERT INTO leases (network, address, pod, idx) VALUES (?1, ?2, ?3, ?4)", doing,
               l.network, l.address, l.pod, l.index);
  if (r) return {};
  if (!r.error().is(Errc::already_exists)) return fail(r.error());
  // A constraint failed (SQLite rolled back just this statement): the address is taken, or the
  // network or the attachment is missing. Say which.
  auto held = lease_of(l.network, l.address);
  if (held && *held)
    return fail(Errc::already_exists, fmt::format("{}: {} holds it already", doing, holder(**held)));
  auto attachment = first_text(impl_->db, "SELECT pod FROM attachments WHERE pod = ?1 AND idx = ?2", doing, l.pod,
                               l.index);
  if (attachment && !*attachment)
    return fail(Errc::not_found, fmt::format("{}: no attachment {} of pod {}", doing, l.index, l.pod));
  auto network = first_text(impl_->db, "SELECT name FROM networks WHERE name = ?1", doing, l.network);
  if (network && !*network) return fail(Errc::not_found, fmt::format("{}: no network {}", doing, l.network));
  return fail(r.error());
}

Result<std::optional<Lease>> Store::lease_of(const std::string& network, const std::string& address) {
  auto doing = fmt::format("look up lease of {} on network {}", address, network);
  auto st = impl_->db.prepare("SELECT network, address, pod, idx FROM leases WHERE network = ?1 AND address = ?2");
  if (!st) return fail_with(st, doing);
  st->bind(1, network).bind(2, address);
  auto row = st->step(doing);
  if (!row) return fail(row.error());
  if (!*row) return std::nullopt;
  return lease_from(*st);
}

Result<std::vector<Lease>> Store::leases(const std::string& network) {
  return select_all(impl_->db, "SELECT network, address, pod, idx FROM leases WHERE network = ?1 ORDER BY address",
                    fmt::format("read leases of network {}", network), lease_from, network);
}

Result<std::vector<Lease>> Store::all_leases() {
  return select_all(impl_->db, "SELECT network, address, pod, idx FROM leases ORDER BY network, address",
                    "read leases", lease_from);
}

Result<std::vector<Lease>> Store::attachment_leases(const std::string& pod, int index) {
  return select_all(impl_->db,
                    "SELECT network, address, pod, idx FROM leases WHERE pod = ?1 AND idx = ?2 "
                    "ORDER BY network, address",
                    fmt::format("read leases of attachment {} of pod {}", index, pod), lease_from, pod, index);
}

Status Store::release_leases(const std::string& pod, int index) {
  auto r = run(impl_->db, "DELETE FROM leases WHERE pod = ?1 AND idx = ?2",
               fmt::format("release leases of attachment {} of pod {}", index, pod), pod, index);
  if (!r) return fail(r.error());
  return {};
}

Result<std::string> Store::ipam_cursor(const std::string& network, const std::string& range) {
  auto v = first_text(impl_->db, "SELECT address FROM ipam_cursors WHERE network = ?1 AND \"range\" = ?2",
                      fmt::format("read IPAM cursor of {} on network {}", range, network), network, range);
  if (!v) return fail(v.error());
  return v->value_or("");
}

Status Store::set_ipam_cursor(const std::string& network, const std::string& range, const std::string& address) {
  auto doing = fmt::format("store IPAM cursor of {} on network {}", range, network);
  auto r = run(impl_->db,
               "INSERT INTO ipam_cursors (network, \"range\", address) VALUES (?1, ?2, ?3) "
               "ON CONFLICT (network, \"range\") DO UPDATE SET address = excluded.address",
               doing, network, range, address);
  if (r) return {};
  if (r.error().is(Errc::already_exists))  // the foreign key: no such network
    return fail(Errc::not_found, fmt::format("{}: no network {}", doing, network));
  return fail(r.error());
}

// --- metadata ---

Result<std::optional<std::string>> Store::meta(const std::string& key) {
  return first_text(impl_->db, "SELECT value FROM meta WHERE key = ?1", fmt::format("read state metadata {}", key),
                    key);
}

Status Store::set_meta(const std::string& key, const std::string& value) {
  auto r = run(impl_->db,
               "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
               fmt::format("store state metadata {}", key), key, value);
  if (!r) return fail(r.error());
  return {};
}

}  // namespace podns::state
