// The one way podns writes a file that others read: a temp file in the same directory, written
// whole and fsynced, then renamed (or linked) into place. A reader, or the next podns after a
// crash, sees the old file or the new one, never half of one; a crash leaves at most a dot-named
// temp file, which no reader lists. (In the sys layer: its writes are the fault point sys.write,
// where the tests interrupt them with EINTR.)
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "podns/error.hpp"

namespace podns {

struct AtomicWrite {
  mode_t mode = 0600;
  // false: a file already at the path wins and is kept (link(2) instead of rename(2)); not an error.
  bool replace = true;
  // fsync the directory too, so the rename itself survives a power cut. Costs a journal commit
  // (~5 ms on ext4): caches that may lose their newest entry leave it off.
  bool sync_dir = true;
};

[[nodiscard]] Status write_file_atomically(const std::string& path, std::string_view content,
                                           const AtomicWrite& how = {});

}  // namespace podns
