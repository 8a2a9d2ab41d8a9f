#include "podns/state/store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <thread>
#include <filesystem>
#include <unordered_map>

#include <fmt/format.h>

#include "podns/fd.hpp"
#include "podns/make_dirs.hpp"
#include "state/schema.hpp"
#include "state/sqlite.hpp"
#include "state/store_impl.hpp"
#include "state/store_pool.hpp"
#include "state/summary.hpp"

namespace podns::state {

std::string_view to_string(PodPhase p) {
  switch (p) {
    case PodPhase::creating: return "creating";
    case PodPhase::ready: return "ready";
    case PodPhase::removing: return "removing";
  }
  return "creating";
}

Result<PodPhase> parse_pod_phase(std::string_view s) {
  if (s == "creating") return PodPhase::creating;
  if (s == "ready") return PodPhase::ready;
  if (s == "removing") return PodPhase::removing;
  return fail(Errc::corrupt, fmt::format("unknown pod phase \"{}\"", s));
}

std::string_view to_string(RowState s) { return s == RowState::done ? "done" : "intent"; }

std::string_view to_string(PodKind k) { return k == PodKind::cni ? "cni" : "pod"; }

static RowState parse_row_state(const std::string& s) { return s == "done" ? RowState::done : RowState::intent; }

std::string_view to_string(AttachmentDriver d) { return d == AttachmentDriver::native ? "native" : "cni"; }

static AttachmentDriver parse_driver(const std::string& s) {
  return s == "native" ? AttachmentDriver::native : AttachmentDriver::cni;
}

bool ports_conflict(const PortMapping& a, const PortMapping& b) {
  if (a.protocol != b.protocol) return false;
  if (!(a.host_ip.empty() || b.host_ip.empty() || a.host_ip == b.host_ip)) return false;
  // Closed intervals [host_port, host_port + range - 1]; a range below 1 counts as one port.
  int a_end = a.host_port + std::max(a.range, 1) - 1;
  int b_end = b.host_port + std::max(b.range, 1) - 1;
  return a.host_port <= b_end && b.host_port <= a_end;
}

Store::Store(std::unique_ptr<Impl> impl, std::string path) : impl_(std::move(impl)), path_(std::move(path)) {}
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&& o) noexcept {
  if (this != &o) {
    pool::give_back(path_, std::move(impl_));
    impl_ = std::move(o.impl_);
    path_ = std::move(o.path_);
  }
  return *this;
}
Store::~Store() { pool::give_back(path_, std::move(impl_)); }

void Store::close_idle() { pool::close_all(); }

namespace {

// Switching a fresh database to WAL and running the migrations take locks for which SQLite may
// answer SQLITE_BUSY at once, without calling the busy handler (several processes opening a new
// database together: the journal-mode change and the WAL recovery are not covered by
// busy_timeout). Retry those steps, with a short sleep, for as long as the busy timeout allows.
Status initialize_with_retry(sql::Db& db, std::chrono::milliseconds busy_timeout) {
  auto deadline = std::chrono::steady_clock::now() + busy_timeout;
  for (;;) {
    Status s = db.exec("PRAGMA journal_mode = WAL", "set WAL mode");
    if (s) s = db.exec("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON", "set pragmas");
    if (s) s = migrate(db);
    if (s || !s.error().is(Errc::busy) || std::chrono::steady_clock::now() >= deadline) return s;
    (void)db.exec("ROLLBACK", "roll back schema migration");  // migrate() may have begun one
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// The database file 0600 from birth. SQLite would create it 0644 & ~umask, and it gives the -wal
// and -shm files the mode of the database file, so creating the file here first covers all three
// without touching the process-wide umask. O_EXCL: an existing file is not ours to create.
// Closed at once, before SQLite opens it: closing any fd of a file drops the process's POSIX
// locks on it (SQLite's locks), and no connection has this brand-new file open yet.
// Files left by versions that created them with the umask lose their group and other bits.
Status create_private_db_file(const std::string& db_path) {
  UniqueFd fd(::open(db_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd) return {};
  if (errno != EEXIST) return fail_errno("create " + db_path);
  for (const std::string& path : {db_path, db_path + "-wal", db_path + "-shm"}) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) == 0) continue;
    // Deliberately best effort, as the chmod before it was: a file of another owner (EPERM) is
    // not ours to change, and its owner's next open tightens it.
    (void)::chmod(path.c_str(), st.st_mode & 0700);
  }
  return {};
}

}  // namespace

Result<Store> Store::open(const std::string& db_path, std::chrono::milliseconds busy_timeout,
                          int wal_checkpoint_pages) {
  // Not 0 or less: sqlite3_wal_autocheckpoint takes those as "never".
  const int checkpoint_pages = wal_checkpoint_pages > 0 ? wal_checkpoint_pages : kDefaultCheckpointPages;
  if (auto idle = pool::take(db_path)) {
    sqlite3_busy_timeout(idle->db.get(), static_cast<int>(busy_timeout.count()));
    sqlite3_wal_autocheckpoint(idle->db.get(), checkpoint_pages);
    // Another podns may have changed the schema since (one cached read when it did not); if so,
    // the full open below migrates or refuses with the right error.
    if (migrate(idle->db)) return Store(std::move(idle), db_path);
  }
  auto doing = fmt::format("open state database {}", db_path);
  auto dir = std::filesystem::path(db_path).parent_path().string();
  if (!dir.empty()) {
    // The state names netns paths and holds CNI results: what podns makes for it is private.
    if (auto st = make_dirs(dir, 0700); !st) return fail_with(st, doing);
  }
  if (auto st = create_private_db_file(db_path); !st) return fail_with(st, doing);
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(db_path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  sql::Db db(raw);  // owns the handle even when open failed
  if (rc != SQLITE_OK) return fail(sql::error_from(raw, rc, "sqlite3_open").context(doing));
  sqlite3_extended_result_codes(raw, 1);
  // Every podns command opens and closes the database once. By default the last connection to
  // close checkpoints the WAL into the database and fsyncs it, and deletes the WAL file: tens of ms
  // per command on a busy disk. Keep the WAL and leave checkpoints to SQLite's auto-checkpoint
  // (every checkpoint_pages pages); durability is unchanged (WAL frames are the committed data).
  sqlite3_db_config(raw, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  int persist = 1;
  sqlite3_file_control(raw, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
  sqlite3_wal_autocheckpoint(raw, checkpoint_pages);
  sqlite3_busy_timeout(raw, static_cast<int>(busy_timeout.count()));
  // WAL: readers (ls, inspect) never block the writer. synchronous=NORMAL in WAL mode is durable
  // against a crash of the process (the case recovery is for); a power loss can lose the last
  // commits, but it also takes every pin, veth and netns with it, and gc reconciles the rest.
  // The first statement is the one that reads the file header, so it is the one that reports a
  // file that is not a database.
  if (auto s = initialize_with_retry(db, busy_timeout); !s) return fail_with(s, doing);
  // The identity the pool checks before handing this connection out again (store_pool.cpp).
  struct stat st {};
  if (::stat(db_path.c_str(), &st) < 0) return fail(Error::from_errno("stat " + db_path).context(doing));
  auto impl = std::make_unique<Impl>();
  impl->db = std::move(db);
  impl->owner_pid = ::getpid();
  impl->file_dev = st.st_dev;
  impl->file_ino = st.st_ino;
  return Store(std::move(impl), db_path);
}

Result<int> Store::schema_version() {
  auto st = impl_->db.prepare("PRAGMA user_version");
  if (!st) return fail(st.error());
  auto row = st->step("read schema version");
  if (!row) return fail(row.error());
  return *row ? static_cast<int>(st->integer(0)) : 0;
}

Status Store::transaction(const std::function<Status()>& fn) {
  if (impl_->tx_depth > 0) return fn();
  if (auto s = impl_->db.exec("BEGIN IMMEDIATE", "begin transaction"); !s) return s;
  ++impl_->tx_depth;
  Status s = fn();
  --impl_->tx_depth;
  if (!s) {
    (void)impl_->db.exec("ROLLBACK", "rollback");
    return s;
  }
  if (auto c = impl_->db.exec("COMMIT", "commit transaction"); !c) {
    (void)impl_->db.exec("ROLLBACK", "rollback");
    return c;
  }
  return {};
}

namespace {

PodRecord pod_from(const sql::Stmt& st) {
  PodRecord p;
  p.name = st.text(0);
  p.phase = parse_pod_phase(st.text(1)).value_or(PodPhase::creating);
  p.spec = st.text(2);
  p.netns_path = st.text(3);
  p.userns_path = st.text(4);
  p.created_at = st.integer(5);
  p.id_mappings = st.text(6);
  p.kind = st.text(7) == "cni" ? PodKind::cni : PodKind::pod;
  return p;
}

constexpr std::string_view kPodCols = "name, phase, spec, netns_path, userns_path, created_at, id_mappings, kind";
// The same columns with spec left out (it is read as ''), for listings: all in the covering index
// pods_summary (schema 2, kind since 4), so a listing never reads the table's wide rows.
constexpr std::string_view kPodSummaryCols =
    "name, phase, '', netns_path, userns_path, created_at, id_mappings, kind";
constexpr std::string_view kPodSummaryFrom = "pods INDEXED BY pods_summary";

}  // namespace

namespace {

// "8080/tcp", "127.0.0.1:8000-8009/udp"
std::string describe(const PortMapping& p) {
  std::string ip = p.host_ip.empty() ? "" : p.host_ip + ":";
  if (p.range <= 1) return fmt::format("{}{}/{}", ip, p.host_port, p.protocol);
  return fmt::format("{}{}-{}/{}", ip, p.host_port, p.host_port + p.range - 1, p.protocol);
}

// The schema's CHECKs would refuse these too, but as a constraint failure (already_exists).
Status validate_port(const PortMapping& p) {
  auto bad = [&](std::string_view why) {
    return fail(Errc::invalid_argument, fmt::format("port mapping {}: {}", describe(p), why));
  };
  if (p.range < 1) return bad(fmt::format("range {} is not a positive number of ports", p.range));
  if (p.host_port < 1 || p.host_port + p.range - 1 > 65535) return bad("host ports outside 1-65535");
  if (p.container_port < 1 || p.container_port + p.range - 1 > 65535) return bad("container ports outside 1-65535");
  return {};
}

// The mappings of other pods that overlap p, first one wins. A stored mapping starting at s
// covers s..s+range-1, so only those starting in [p.start - widest + 1, p.end] can overlap: one
// range scan of port_mappings_by_port, whose width is bounded by the widest stored range (read
// through port_mappings_by_range, schema 3) instead of by the number of pods.
Result<std::optional<PortMapping>> published_overlap(sql::Db& db, const PortMapping& p, int64_t widest) {
  auto st = db.prepare(
      "SELECT pod, host_ip, host_port, \"range\" FROM port_mappings "
      "WHERE host_port BETWEEN ?1 AND ?2 AND protocol = ?3");
  if (!st) return fail(st.error());
  st->bind(1, static_cast<int64_t>(p.host_port) - widest + 1).bind(2, p.host_port + p.range - 1).bind(3, p.protocol);
  for (;;) {
    auto row = st->step("look up port mappings");
    if (!row) return fail(row.error());
    if (!*row) return std::nullopt;
    PortMapping other{st->text(0), st->text(1), static_cast<int>(st->integer(2)), 0, p.protocol,
                      static_cast<int>(st->integer(3))};
    if (ports_conflict(p, other)) return other;
  }
}

}  // namespace

Status Store::insert_pod(const PodRecord& pod, const std::vector<PortMapping>& ports) {
  auto doing = fmt::format("record pod {}", pod.name);
  return transaction([&]() -> Status {
    auto exists = get_pod(pod.name);
    if (exists) return fail(Errc::already_exists, fmt::format("pod {}", pod.name));
    if (!exists.error().is(Errc::not_found)) return fail_with(exists, doing);
    int64_t widest = 1;
    if (!ports.empty()) {
      auto st = impl_->db.prepare("SELECT max(\"range\") FROM port_mappings");
      if (!st) return fail_with(st, doing);
      auto row = st->step("read the widest port range");
      if (!row) return fail_with(row, doing);
      if (*row) widest = std::max<int64_t>(st->integer(0), 1);  // NULL (no rows) reads as 0
    }
    for (size_t i = 0; i < ports.size(); ++i) {
      if (auto s = validate_port(ports[i]); !s) return fail_with(s, doing);
      for (size_t j = 0; j < i; ++j) {
        if (ports_conflict(ports[i], ports[j]))
          return fail(Errc::already_exists,
                      fmt::format("pod {}: host port {} is published twice", pod.name, describe(ports[i])));
      }
      auto other = published_overlap(impl_->db, ports[i], widest);
      if (!other) return fail_with(other, doing);
      if (*other) {
        const PortMapping& o = **other;
        std::string theirs = o.range > 1 || ports[i].range > 1 ? fmt::format(" ({})", describe(o)) : "";
        return fail(Errc::already_exists, fmt::format("host port {} is already published by pod {}{}",
                                                      describe(ports[i]), o.pod, theirs));
      }
    }
    int64_t now = pod.created_at ? pod.created_at : static_cast<int64_t>(std::time(nullptr));
    auto r = run(impl_->db,
                 "INSERT INTO pods (name, phase, spec, netns_path, userns_path, created_at, id_mappings, kind) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                 "CASE WHEN json_valid(?3) THEN COALESCE(json_extract(?3, '$.idMappings'), '') ELSE '' END, ?7)",
                 doing, pod.name, to_string(pod.phase), pod.spec, pod.netns_path, pod.userns_path, now,
                 to_string(pod.kind));
    if (!r) return fail(r.error());
    for (const auto& p : ports) {
      auto pr = run(impl_->db,
                    "INSERT INTO port_mappings (pod, host_ip, host_port, container_port, protocol, \"range\") "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    doing, pod.name, p.host_ip, p.host_port, p.container_port, p.protocol, p.range);
      if (!pr) return fail(pr.error());
    }
    return {};
  });
}

static Status require_changed(Result<int> r, std::string_view what) {
  if (!r) return fail(r.error());
  if (*r == 0) return fail(Errc::not_found, std::string(what));
  return {};
}

Status Store::set_pod_phase(const std::string& name, PodPhase phase) {
  return require_changed(run(impl_->db, "UPDATE pods SET phase = ?2 WHERE name = ?1",
                             fmt::format("set phase of pod {}", name), name, to_string(phase)),
                         fmt::format("pod {}", name));
}

Status Store::set_pod_paths(const std::string& name, const std::string& netns_path, const std::string& userns_path) {
  return require_changed(run(impl_->db, "UPDATE pods SET netns_path = ?2, userns_path = ?3 WHERE name = ?1",
                             fmt::format("record paths of pod {}", name), name, netns_path, userns_path),
                         fmt::format("pod {}", name));
}

Status Store::delete_pod(const std::string& name) {
  // ON DELETE CASCADE drops pins, attachments, ports and helpers in the same statement.
  auto r = run(impl_->db, "DELETE FROM pods WHERE name = ?1", fmt::format("delete pod {}", name), name);
  if (!r) return fail(r.error());
  return {};
}

Result<PodRecord> Store::get_pod(const std::string& name) {
  auto st = impl_->db.prepare(fmt::format("SELECT {} FROM pods WHERE name = ?1", kPodCols));
  if (!st) return fail(st.error());
  st->bind(1, name);
  auto row = st->step(fmt::format("read pod {}", name));
  if (!row) return fail(row.error());
  if (!*row) return fail(Errc::not_found, fmt::format("pod {}", name));
  return pod_from(*st);
}

Result<std::vector<PodRecord>> Store::list_unfinished() {
  auto st = impl_->db.prepare(fmt::format("SELECT {} FROM pods WHERE phase != 'ready' ORDER BY name", kPodCols));
  if (!st) return fail(st.error());
  std::vector<PodRecord> out;
  for (;;) {
    auto row = st->step("list unfinished pods");
    if (!row) return fail(row.error());
    if (!*row) break;
    out.push_back(pod_from(*st));
  }
  return out;
}

namespace {

Result<std::vector<PodRecord>> select_pods(sql::Db& db, std::string_view cols, std::string_view from = "pods") {
  auto st = db.prepare(fmt::format("SELECT {} FROM {} ORDER BY name", cols, from));
  if (!st) return fail(st.error());
  std::vector<PodRecord> out;
  for (;;) {
    auto row = st->step("list pods");
    if (!row) return fail(row.error());
    if (!*row) break;
    out.push_back(pod_from(*st));
  }
  return out;
}

}  // namespace

Result<std::vector<PodRecord>> Store::list_pods() { return select_pods(impl_->db, kPodCols); }

namespace {

// Reads the child rows of one pod (pod != "") or of all pods into `pods`; with `full` false,
// without the large JSON columns of attachments (a listing).
Status read_children(sql::Db& db, const std::string& pod, std::vector<PodState>& pods, bool full = true) {
  std::unordered_map<std::string, PodState*> by_name;
  for (auto& p : pods) by_name[p.pod.name] = &p;
  std::string where = pod.empty() ? "" : " WHERE pod = ?1";
  auto each = [&](std::string_view sqltext, std::string_view doing, auto&& fn) -> Status {
    auto st = db.prepare(std::string(sqltext) + where + " ORDER BY pod");
    if (!st) return fail(st.error());
    if (!pod.empty()) st->bind(1, pod);
    for (;;) {
      auto row = st->step(doing);
      if (!row) return fail(row.error());
      if (!*row) return {};
      auto it = by_name.find(st->text(0));
      if (it != by_name.end()) fn(*st, *it->second);
    }
  };
  if (auto s = each("SELECT pod, type, path, state FROM pins", "read pins",
                    [](const sql::Stmt& st, PodState& ps) {
                      ps.pins.push_back({st.text(0), st.text(1), st.text(2), parse_row_state(st.text(3))});
                    });
      !s)
    return s;
  if (auto s = each(full ? "SELECT pod, idx, network, ifname, container_id, netns_path, config, runtime_config, "
                           "result, state, mac, driver, host_ifname FROM attachments"
                         : "SELECT pod, idx, network, ifname, '', '', '', '', '', state, mac, driver, host_ifname "
                           "FROM attachments INDEXED BY attachments_summary",
                    "read attachments",
                    [](const sql::Stmt& st, PodState& ps) {
                      AttachmentRecord a;
                      a.pod = st.text(0);
                      a.index = static_cast<int>(st.integer(1));
                      a.network = st.text(2);
                      a.ifname = st.text(3);
                      a.container_id = st.text(4);
                      a.netns_path = st.text(5);
                      a.config = st.text(6);
                      a.runtime_config = st.text(7);
                      a.result = st.text(8);
                      a.state = parse_row_state(st.text(9));
                      a.summary.mac = st.text(10);
                      a.driver = parse_driver(st.text(11));
                      a.host_ifname = st.text(12);
                      ps.attachments.push_back(std::move(a));
                    });
      !s)
    return s;
  // Addresses come ordered by (pod, idx, seq) from the primary key; attachments are sorted below,
  // so collect them per (pod, idx) first.
  std::unordered_map<std::string, std::vector<std::pair<int, AttachmentAddress>>> addrs;
  if (auto s = each("SELECT pod, idx, address, gateway FROM attachment_addresses", "read attachment addresses",
                    [&](const sql::Stmt& st, PodState& ps) {
                      addrs[ps.pod.name].push_back({static_cast<int>(st.integer(1)), {st.text(2), st.text(3)}});
                    });
      !s)
    return s;
  if (auto s = each("SELECT pod, host_ip, host_port, container_port, protocol, \"range\" FROM port_mappings",
                    "read port mappings",
                    [](const sql::Stmt& st, PodState& ps) {
                      ps.ports.push_back({st.text(0), st.text(1), static_cast<int>(st.integer(2)),
                                          static_cast<int>(st.integer(3)), st.text(4),
                                          static_cast<int>(st.integer(5))});
                    });
      !s)
    return s;
  if (auto s = each("SELECT pod, kind, pid, start_time, record, state FROM helpers", "read helpers",
                    [](const sql::Stmt& st, PodState& ps) {
                      ps.helpers.push_back({st.text(0), st.text(1), static_cast<int>(st.integer(2)),
                                            static_cast<uint64_t>(st.integer(3)), st.text(4),
                                            parse_row_state(st.text(5))});
                    });
      !s)
    return s;
  for (auto& p : pods) {
    std::sort(p.attachments.begin(), p.attachments.end(),
              [](const auto& a, const auto& b) { return a.index < b.index; });
    auto it = addrs.find(p.pod.name);
    if (it == addrs.end()) continue;
    for (auto& [idx, addr] : it->second) {
      for (auto& a : p.attachments) {
        if (a.index == idx) a.summary.addresses.push_back(std::move(addr));
      }
    }
  }
  return {};
}

}  // namespace

Result<PodState> Store::load(const std::string& name) {
  // One snapshot, so the pod and its rows agree. Outside a write transaction a deferred (read)
  // one: inspect never queues behind a writer for the write lock (WAL lets readers through).
  std::vector<PodState> out;
  auto read = [&]() -> Status {
    auto pod = get_pod(name);
    if (!pod) return fail(pod.error());
    out.push_back(PodState{*pod, {}, {}, {}, {}});
    return read_children(impl_->db, name, out);
  };
  Status s;
  if (impl_->tx_depth > 0) {
    s = read();
  } else {
    if (auto b = impl_->db.exec("BEGIN", "begin read"); !b) return fail(b.error());
    s = read();
    (void)impl_->db.exec("COMMIT", "end read");
  }
  if (!s) return fail(s.error());
  return std::move(out.front());
}

namespace {

Result<std::vector<PodState>> load_everything(sql::Db& db, bool full) {
  std::vector<PodState> out;
  // A deferred (read) transaction: a consistent snapshot without taking the write lock. Inside a
  // caller's transaction its snapshot serves.
  const bool own = sqlite3_get_autocommit(db.get()) != 0;
  if (own) {
    if (auto s = db.exec("BEGIN", "begin read"); !s) return fail(s.error());
  }
  auto done = [&](Status s) -> Result<std::vector<PodState>> {
    if (own) (void)db.exec("COMMIT", "end read");
    if (!s) return fail(s.error());
    return std::move(out);
  };
  auto pods = full ? select_pods(db, kPodCols) : select_pods(db, kPodSummaryCols, kPodSummaryFrom);
  if (!pods) return done(fail(pods.error()));
  out.reserve(pods->size());
  for (auto& p : *pods) out.push_back(PodState{std::move(p), {}, {}, {}, {}});
  return done(read_children(db, "", out, full));
}

}  // namespace

Result<std::vector<PodState>> Store::load_all() { return load_everything(impl_->db, true); }
Result<std::vector<PodState>> Store::load_all_summaries() { return load_everything(impl_->db, false); }

Status Store::record_pin_intent(const std::string& pod, const std::string& type, const std::string& path) {
  auto r = run(impl_->db,
               "INSERT INTO pins (pod, type, path, state) VALUES (?1, ?2, ?3, 'intent') "
               "ON CONFLICT (pod, type) DO UPDATE SET path = excluded.path, state = 'intent'",
               fmt::format("record pin intent {} of pod {}", type, pod), pod, type, path);
  if (!r) return fail(r.error());
  return {};
}

Status Store::commit_pin(const std::string& pod, const std::string& type) {
  return require_changed(run(impl_->db, "UPDATE pins SET state = 'done' WHERE pod = ?1 AND type = ?2",
                             fmt::format("commit pin {} of pod {}", type, pod), pod, type),
                         fmt::format("pin {} of pod {}", type, pod));
}

Status Store::remove_pin(const std::string& pod, const std::string& type) {
  auto r = run(impl_->db, "DELETE FROM pins WHERE pod = ?1 AND type = ?2",
               fmt::format("forget pin {} of pod {}", type, pod), pod, type);
  if (!r) return fail(r.error());
  return {};
}

Status Store::record_attachment_intent(const AttachmentRecord& a) {
  auto r = run(impl_->db,
               "INSERT INTO attachments (pod, idx, network, ifname, container_id, netns_path, config, "
               "runtime_config, result, state, driver, host_ifname) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, '', 'intent', ?9, ?10)",
               fmt::format("record attachment intent {} of pod {}", a.network, a.pod), a.pod, a.index, a.network,
               a.ifname, a.container_id, a.netns_path, a.config, a.runtime_config, to_string(a.driver),
               a.host_ifname);
  if (!r) return fail(r.error());
  return {};
}

Status Store::commit_attachment(const std::string& pod, int index, const std::string& result) {
  auto doing = fmt::format("commit attachment {} of pod {}", index, pod);
  return transaction([&]() -> Status {
    auto ifname = [&]() -> Result<std::string> {
      auto st = impl_->db.prepare("SELECT ifname FROM attachments WHERE pod = ?1 AND idx = ?2");
      if (!st) return fail(st.error());
      st->bind(1, pod).bind(2, index);
      auto row = st->step(doing);
      if (!row) return fail(row.error());
      if (!*row) return fail(Errc::not_found, fmt::format("attachment {} of pod {}", index, pod));
      return st->text(0);
    }();
    if (!ifname) return fail(ifname.error());
    // Parsed once here, so that no listing ever parses it again.
    AttachmentSummary summary = summarize_cni_result(result, *ifname);
    auto r = run(impl_->db, "UPDATE attachments SET result = ?3, mac = ?4, state = 'done' WHERE pod = ?1 AND idx = ?2",
                 doing, pod, index, result, summary.mac);
    if (!r) return fail(r.error());
    r = run(impl_->db, "DELETE FROM attachment_addresses WHERE pod = ?1 AND idx = ?2", doing, pod, index);
    if (!r) return fail(r.error());
    for (size_t i = 0; i < summary.addresses.size(); ++i) {
      r = run(impl_->db,
              "INSERT INTO attachment_addresses (pod, idx, seq, address, gateway) VALUES (?1, ?2, ?3, ?4, ?5)", doing,
              pod, index, static_cast<int64_t>(i), summary.addresses[i].address, summary.addresses[i].gateway);
      if (!r) return fail(r.error());
    }
    return {};
  });
}

Status Store::remove_attachment(const std::string& pod, int index) {
  auto r = run(impl_->db, "DELETE FROM attachments WHERE pod = ?1 AND idx = ?2",
               fmt::format("forget attachment {} of pod {}", index, pod), pod, index);
  if (!r) return fail(r.error());
  return {};
}

Result<std::vector<PortMapping>> Store::all_ports() {
  auto st = impl_->db.prepare(
      "SELECT pod, host_ip, host_port, container_port, protocol, \"range\" FROM port_mappings "
      "ORDER BY pod, host_port");
  if (!st) return fail(st.error());
  std::vector<PortMapping> out;
  for (;;) {
    auto row = st->step("read port mappings");
    if (!row) return fail(row.error());
    if (!*row) break;
    out.push_back({st->text(0), st->text(1), static_cast<int>(st->integer(2)), static_cast<int>(st->integer(3)),
                   st->text(4), static_cast<int>(st->integer(5))});
  }
  return out;
}

Status Store::record_helper_intent(const std::string& pod, const std::string& kind) {
  auto r = run(impl_->db,
               "INSERT INTO helpers (pod, kind, state) VALUES (?1, ?2, 'intent') "
               "ON CONFLICT (pod, kind) DO UPDATE SET pid = 0, start_time = 0, record = '', state = 'intent'",
               fmt::format("record helper intent {} of pod {}", kind, pod), pod, kind);
  if (!r) return fail(r.error());
  return {};
}

Status Store::commit_helper(const std::string& pod, const std::string& kind, int pid, uint64_t start_time,
                           const std::string& record) {
  return require_changed(
      run(impl_->db,
          "UPDATE helpers SET pid = ?3, start_time = ?4, record = ?5, state = 'done' WHERE pod = ?1 AND kind = ?2",
          fmt::format("commit helper {} of pod {}", kind, pod), pod, kind, pid, static_cast<int64_t>(start_time),
          record),
      fmt::format("helper {} of pod {}", kind, pod));
}

Status Store::remove_helper(const std::string& pod, const std::string& kind) {
  auto r = run(impl_->db, "DELETE FROM helpers WHERE pod = ?1 AND kind = ?2",
               fmt::format("forget helper {} of pod {}", kind, pod), pod, kind);
  if (!r) return fail(r.error());
  return {};
}

}  // namespace podns::state
