// `mkdir -p` with the mode said at the call: std::filesystem::create_directories gives 0777 minus
// the umask, and a state or lock directory must be private from birth, not chmod'ed after.
#pragma once

#include <sys/types.h>

#include <string>

#include "podns/error.hpp"

namespace podns {

// Creates `path` and every missing parent with `mode` (the umask can still only take bits away).
// Directories that exist keep their mode: podns did not make them. Something else at `path` (a
// file, a dangling symlink) is ENOTDIR. A failure names the directory it could not create, with
// the errno.
[[nodiscard]] Status make_dirs(const std::string& path, mode_t mode);

}  // namespace podns
