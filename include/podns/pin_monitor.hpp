// Watching pins come and go, as `ip netns monitor` does for /run/netns, for every namespace type
// and for pins made by anyone (podns, `ip netns add`, CRI-O's pinns).
//
// A pin is an empty file with an nsfs bind mount on it, and its maker creates the file first and
// mounts second, so a new file is not yet a pin (and may never be one: a failed mount unlinks it).
// `ip netns monitor` reports "add" on the file's creation; PinMonitor reports `added` only once
// the namespace is mounted on it: inotify says which files appeared, and the mount table's change
// notification (POLLPRI on /proc/self/mountinfo) says when to look at them again. `removed` comes
// with the unlink, for a pin that was reported added (or was live when the monitor started).
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "podns/error.hpp"
#include "podns/fd.hpp"
#include "podns/namespace_type.hpp"
#include "podns/paths.hpp"

namespace podns {

struct PinEvent {
  enum class Kind { added, removed };
  Kind kind;
  NamespaceType type;
  std::string name;
  std::string path;
};

std::string_view to_string(PinEvent::Kind kind) noexcept;

class PinMonitor {
 public:
  // Watch the pin directory of every type below `paths` (creating missing ones, mode 0755, as a
  // first pin would). The pins live now are known, not reported.
  [[nodiscard]] static Result<PinMonitor> open(const Paths& paths);

  // The events since the last call, waiting up to `timeout` for the first (an empty vector when
  // none came). A signal ends the wait early with what is there, possibly nothing, so that the
  // caller's handler gets to run.
  [[nodiscard]] Result<std::vector<PinEvent>> wait(std::chrono::milliseconds timeout);

  // Readable (POLLIN) or POLLPRI when wait() would have something to look at: for callers that
  // poll several fds. Both fds must be polled: inotify for POLLIN, the mount table for POLLPRI.
  FdView inotify_fd() const { return inotify_.view(); }
  FdView mounts_fd() const { return mounts_.view(); }

 private:
  using Key = std::pair<NamespaceType, std::string>;  // type, name
  struct Dir {
    NamespaceType type;
    std::string path;
  };

  Status read_inotify(std::vector<PinEvent>& out);
  void look_at_pending(std::vector<PinEvent>& out);
  std::string path_of(const Key& key) const;

  UniqueFd inotify_;
  UniqueFd mounts_;
  std::map<int, Dir> dirs_;      // inotify watch descriptor -> the pin directory it watches
  std::map<NamespaceType, std::string> dir_of_;
  std::set<Key> pending_;        // created, not (yet) a pin
  std::set<Key> live_;           // reported added, or live at open()
};

}  // namespace podns
