#include "podns/pin_monitor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "podns/make_dirs.hpp"
#include "podns/pin.hpp"

namespace podns {

std::string_view to_string(PinEvent::Kind kind) noexcept {
  return kind == PinEvent::Kind::added ? "added" : "removed";
}

Result<PinMonitor> PinMonitor::open(const Paths& paths) {
  PinMonitor m;
  m.inotify_ = UniqueFd(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!m.inotify_) return fail_errno("inotify_init1");
  // The mount table of this process's mount namespace, where pins (shared mounts) show up: poll()
  // reports POLLPRI whenever it changed since the last poll() of this fd.
  m.mounts_ = UniqueFd(::open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC));
  if (!m.mounts_) return fail_errno("open /proc/self/mountinfo");
  struct pollfd first{m.mounts_.get(), POLLPRI, 0};
  (void)::poll(&first, 1, 0);  // the first poll() always reports a change: consume it

  for (const NamespaceInfo& info : all_namespaces()) {
    std::string dir = pin_dir(paths, info.type);
    if (auto st = make_dirs(dir, 0755); !st) return fail_with(st, "pin monitor: prepare " + dir);
    // IN_ONLYDIR: a pin dir replaced by a file or symlink is refused, not followed.
    int wd = ::inotify_add_watch(m.inotify_.get(), dir.c_str(),
                                 IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR | IN_DONT_FOLLOW);
    if (wd < 0) return fail_errno("pin monitor: watch " + dir);
    m.dirs_[wd] = Dir{info.type, dir};
    m.dir_of_[info.type] = dir;
  }
  // Listed after the watches are in place, so a pin made in between is seen by one or the other.
  auto pins = list_pins(paths);
  if (!pins) return fail_with(pins, "pin monitor");
  for (const PinEntry& p : *pins) {
    if (p.live) m.live_.insert({p.type, p.name});
    else m.pending_.insert({p.type, p.name});  // a pin being made right now, or a stale file
  }
  return m;
}

std::string PinMonitor::path_of(const Key& key) const { return dir_of_.at(key.first) + "/" + key.second; }

Status PinMonitor::read_inotify(std::vector<PinEvent>& out) {
  // Large enough for many events at once; each is followed by its NUL-padded name.
  alignas(struct inotify_event) std::array<char, 16 * 1024> buf;
  for (;;) {
    ssize_t n = ::read(inotify_.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EAGAIN) return {};
      if (errno == EINTR) continue;
      return fail_errno("pin monitor: read inotify");
    }
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const struct inotify_event*>(buf.data() + off);
      off += static_cast<ssize_t>(sizeof(struct inotify_event) + ev->len);
      if (ev->mask & IN_Q_OVERFLOW) continue;  // rescans below catch up on what is pending
      auto dir = dirs_.find(ev->wd);
      if (dir == dirs_.end() || ev->len == 0 || (ev->mask & IN_ISDIR)) continue;
      Key key{dir->second.type, std::string(ev->name)};
      if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
        live_.erase(key);
        pending_.insert(std::move(key));
      } else if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
        pending_.erase(key);
        if (live_.erase(key)) out.push_back({PinEvent::Kind::removed, key.first, key.second, path_of(key)});
      }
    }
  }
}

void PinMonitor::look_at_pending(std::vector<PinEvent>& out) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    auto live = pin_is_live(path_of(*it));
    if (live && *live) {
      out.push_back({PinEvent::Kind::added, it->first, it->second, path_of(*it)});
      live_.insert(*it);
      it = pending_.erase(it);
    } else {
      ++it;  // not mounted yet, or already gone again (its IN_DELETE is on the way)
    }
  }
}

Result<std::vector<PinEvent>> PinMonitor::wait(std::chrono::milliseconds timeout) {
  std::vector<PinEvent> out;
  std::array<struct pollfd, 2> fds{{{inotify_.get(), POLLIN, 0}, {mounts_.get(), POLLPRI, 0}}};
  int n = ::poll(fds.data(), fds.size(), static_cast<int>(timeout.count()));
  if (n < 0) {
    if (errno == EINTR) return out;
    return fail_errno("pin monitor: poll");
  }
  if (n == 0) return out;
  if (fds[0].revents & POLLIN)
    if (auto st = read_inotify(out); !st) return fail(st.error());
  // A new file may have been mounted on before its IN_CREATE was read, so new files are looked at
  // now too, not only when the mount table changes.
  look_at_pending(out);
  return out;
}

}  // namespace podns
