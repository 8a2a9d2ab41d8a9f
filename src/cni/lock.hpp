// flock-based locks for CNI operations (private to src/cni): ADD/DEL/CHECK of one attachment
// exclude each other, and GC of a network excludes all of them (DESIGN: "no two operations on the
// same container at once, GC excludes ADD/DEL"). Works across threads and processes alike, since
// every lock is its own open file description.
#pragma once

#include <string>

#include "podns/error.hpp"
#include "podns/fd.hpp"

namespace podns::cni {

class FileLock {
 public:
  FileLock() = default;
  // Block until `path` is locked (created 0600 as needed). A lock file unlinked by its previous
  // holder is detected (the fd's inode no longer is the path's) and the open retried.
  [[nodiscard]] static Result<FileLock> acquire(const std::string& path, bool exclusive);
  // Remove the lock file while still holding it, so attachment locks do not pile up.
  void unlink_file();
  const std::string& path() const { return path_; }

 private:
  UniqueFd fd_;
  std::string path_;
};

}  // namespace podns::cni
