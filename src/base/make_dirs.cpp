#include "podns/make_dirs.hpp"

#include <sys/stat.h>

#include <cerrno>

namespace podns {
namespace {

// After EEXIST: a file or a dangling symlink in the way is no directory of ours.
Status exists_as_directory(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) < 0) return fail_errno("create directory " + path);
  if (!S_ISDIR(st.st_mode)) return fail_errno(ENOTDIR, "create directory " + path);
  return {};
}

}  // namespace

Status make_dirs(const std::string& path, mode_t mode) {
  // The common case, the directory is there, costs one mkdir and one stat; parents are made only
  // on ENOENT.
  if (::mkdir(path.c_str(), mode) == 0) return {};
  if (errno == EEXIST) return exists_as_directory(path);
  if (errno != ENOENT) return fail_errno("create directory " + path);
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos || slash == 0) return fail_errno(ENOENT, "create directory " + path);
  if (auto st = make_dirs(path.substr(0, slash), mode); !st) return st;
  if (::mkdir(path.c_str(), mode) == 0) return {};
  if (errno == EEXIST) return exists_as_directory(path);
  return fail_errno("create directory " + path);
}

}  // namespace podns
