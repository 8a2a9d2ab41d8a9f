// A private temp dir for a benchmark run, removed with everything mounted below it.
#pragma once

#include <stdlib.h>
#include <sys/mount.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace podns::bench {

struct BenchDir {
  std::string path;
  BenchDir() {
    char tmpl[] = "/tmp/podns-bench-XXXXXX";
    const char* made = ::mkdtemp(tmpl);
    path = made ? made : "";  // "": the benchmark's setup fails on it and reports that
  }
  BenchDir(const BenchDir&) = delete;
  BenchDir& operator=(const BenchDir&) = delete;
  ~BenchDir() {
    if (path.empty()) return;
    // prepare_pin_dir made the pin dirs shared mounts of themselves: detach them (deepest first),
    // or remove_all fails with EBUSY and leaves the dir and its mounts behind.
    std::vector<std::string> mounts;
    std::ifstream mi("/proc/self/mountinfo");
    for (std::string line; std::getline(mi, line);) {
      std::istringstream ls(line);
      std::string id, parent, devno, root, mountpoint;
      ls >> id >> parent >> devno >> root >> mountpoint;
      if (mountpoint.rfind(path + "/", 0) == 0) mounts.push_back(mountpoint);
    }
    std::sort(mounts.begin(), mounts.end(), [](auto& a, auto& b) { return a.size() > b.size(); });
    for (const auto& m : mounts) ::umount2(m.c_str(), MNT_DETACH);
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

}  // namespace podns::bench
