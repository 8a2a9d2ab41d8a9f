#include "podns/make_dirs.hpp"

#include <sys/stat.h>

#include <cerrno>

namespace podns {

Status make_dirs(const std::string& path, mode_t mode) {
  // The common case, the directory is there, costs one mkdir; parents are made only on ENOENT.
  if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) return {};
  if (errno != ENOENT) return fail_errno("create directory " + path);
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos || slash == 0) return fail_errno(ENOENT, "create directory " + path);
  if (auto st = make_dirs(path.substr(0, slash), mode); !st) return st;
  if (::mkdir(path.c_str(), mode) < 0 && errno != EEXIST) return fail_errno("create directory " + path);
  return {};
}

}  // namespace podns
