// What the slirp4netns and pasta tests share: a driver request for an NsHolder's namespaces, a
// bind-mount pin of its netns (as the pod layer pins one), and the check that a run dir is empty.
#pragma once

#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "pod_fixture.hpp"
#include "podns/rootless/driver.hpp"
#include "test_support.hpp"

namespace podns::test {

inline rootless::RootlessNetRequest driver_request(rootless::DriverKind kind, const NsHolder& holder,
                                                   const TempDir& dir, const std::string& name) {
  rootless::RootlessNetRequest req;
  req.kind = kind;
  req.name = name;
  req.netns_path = holder.netns_path();
  req.userns_path = holder.userns_path();
  req.run_dir = dir / "run";
  return req;
}

// Whether `dir` exists and holds anything (a socket, log or pid file left behind).
inline bool dir_has_files(const std::string& dir) {
  std::error_code ec;
  return std::filesystem::exists(dir, ec) && !std::filesystem::is_empty(dir, ec);
}

// A bind-mount pin of the holder's netns at `path`, unmounted and removed on destruction.
class NetnsPin {
 public:
  NetnsPin(const NsHolder& holder, const std::string& path) : path_(path) {
    std::ofstream(path_).close();
    ok_ = ::mount(holder.netns_path().c_str(), path_.c_str(), nullptr, MS_BIND, nullptr) == 0;
  }
  ~NetnsPin() { remove(); }
  NetnsPin(const NetnsPin&) = delete;
  NetnsPin& operator=(const NetnsPin&) = delete;
  void remove() {
    if (ok_) ::umount2(path_.c_str(), MNT_DETACH);
    ok_ = false;
    ::unlink(path_.c_str());
  }
  bool ok() const { return ok_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool ok_ = false;
};

}  // namespace podns::test
