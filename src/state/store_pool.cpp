#include "state/store_pool.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <mutex>
#include <vector>

#include "state/store_impl.hpp"

namespace podns::state::pool {

namespace {

// Enough for the threads of a runtime working on one state directory at once, and for a few
// directories (tests and benchmarks make one per case); beyond that, least recently used go.
constexpr size_t kMaxIdle = 8;

struct Idle {
  std::string path;
  std::unique_ptr<Store::Impl> impl;
};

struct Pool {
  std::mutex mutex;
  std::vector<Idle> idle;  // most recently given back last
};

Pool& the_pool() {
  // Never destroyed: a Store closed during static destruction still finds it.
  static auto* pool = new Pool;
  return *pool;
}

// A forked child finds its parent's connections here; it must neither use nor close them (closing
// touches the parent's WAL index). They stay reachable, so leak checkers do not report them.
void abandon(std::unique_ptr<Store::Impl> impl) {
  static auto* abandoned = new std::vector<std::unique_ptr<Store::Impl>>;
  abandoned->push_back(std::move(impl));
}

bool same_file(const std::string& path, const Store::Impl& impl) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && st.st_dev == impl.file_dev && st.st_ino == impl.file_ino;
}

}  // namespace

std::unique_ptr<Store::Impl> take(const std::string& path) {
  Pool& p = the_pool();
  std::lock_guard lock(p.mutex);
  pid_t self = ::getpid();
  // Newest first, by index: erasing entry i leaves the entries before it where they are.
  for (size_t i = p.idle.size(); i-- > 0;) {
    if (p.idle[i].path != path) continue;
    auto impl = std::move(p.idle[i].impl);
    p.idle.erase(p.idle.begin() + static_cast<std::ptrdiff_t>(i));
    if (impl->owner_pid != self) {
      abandon(std::move(impl));
      continue;
    }
    if (same_file(path, *impl)) return impl;
    // The file was replaced or removed: this connection reads a database nobody else sees.
  }
  return nullptr;
}

void give_back(const std::string& path, std::unique_ptr<Store::Impl> impl) {
  if (!impl) return;
  if (impl->owner_pid != ::getpid()) return abandon(std::move(impl));
  if (impl->tx_depth != 0 || !sqlite3_get_autocommit(impl->db.get())) return;  // closes it
  Pool& p = the_pool();
  std::unique_ptr<Store::Impl> evicted;  // closed after the lock is dropped
  std::lock_guard lock(p.mutex);
  if (p.idle.size() >= kMaxIdle) {
    evicted = std::move(p.idle.front().impl);
    p.idle.erase(p.idle.begin());
  }
  p.idle.push_back({path, std::move(impl)});
}

void close_all() {
  std::vector<Idle> closing;
  {
    Pool& p = the_pool();
    std::lock_guard lock(p.mutex);
    closing.swap(p.idle);
  }
  pid_t self = ::getpid();
  for (auto& i : closing)
    if (i.impl->owner_pid != self) abandon(std::move(i.impl));
}

}  // namespace podns::state::pool
