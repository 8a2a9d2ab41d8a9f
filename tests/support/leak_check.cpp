#include "leak_check.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>
#include <vector>

#include "test_support.hpp"

namespace podns::test {
namespace {

std::set<std::string> dir_entries(const char* path) {
  std::set<std::string> out;
  if (DIR* d = opendir(path)) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") out.insert(n);
    }
    closedir(d);
  }
  return out;
}

std::set<std::string> read_nsfs_mounts() {
  std::set<std::string> out;
  std::ifstream mi("/proc/self/mountinfo");
  for (std::string line; std::getline(mi, line);) {
    auto sep = line.find(" - ");
    if (sep == std::string::npos || line.compare(sep + 3, 5, "nsfs ") != 0) continue;
    std::istringstream ls(line);
    std::string id, parent, devno, root, mountpoint;
    ls >> id >> parent >> devno >> root >> mountpoint;
    out.insert(mountpoint + " (" + root + ")");
  }
  return out;
}

std::set<std::string> read_nft_rules() {
  std::set<std::string> out;
  if (!have_tool("nft")) return out;
  static const std::regex counters(R"(counter packets \d+ bytes \d+)");
  std::istringstream ss(run({"nft", "list", "ruleset"}).out);
  std::string table;
  for (std::string line; std::getline(ss, line);) {
    if (line.rfind("table ", 0) == 0) table = line;
    out.insert(table + " | " + std::regex_replace(line, counters, "counter"));
  }
  return out;
}

// podns-pidns is the sleeping init that keeps a pinned pid namespace joinable; podns-pause holds a
// user's rootless session (src/rootless/session.cpp); podns-close is a short-lived process's last
// close of an nf_tables socket, alive for one RCU grace period after its command returned
// (src/sys/background_close.hpp).
bool is_helper(const std::string& comm) {
  return comm == "podns" || comm == "podns-pidns" || comm == "podns-pause" || comm == "podns-close" ||
         comm == "slirp4netns" || comm == "pasta" || comm == "passt" || comm == "pasta.avx2" || comm == "passt.avx2";
}

// Our children, and podns-related helpers anywhere (a daemonized slirp4netns reparents to init)
// that still run: an exited helper reparented to init holds nothing, and reaping it is init's work.
// Closers are given up to 5 s to finish first; one still there after that is a leak.
void processes(std::set<std::string>& children, std::set<std::string>& helpers) {
  const std::string self = std::to_string(getpid());
  auto procs = read_processes();
  for (int i = 0; i < 100; ++i) {
    bool closing =
        std::ranges::any_of(procs, [](const ProcEntry& p) { return p.comm == "podns-close" && p.state != "Z"; });
    if (!closing) break;
    usleep(50'000);
    procs = read_processes();
  }
  for (const auto& p : procs) {
    if (p.pid == self) continue;
    if (p.ppid == self) children.insert(p.pid + " " + p.comm + " [" + p.state + "]");
    if (is_helper(p.comm) && p.state != "Z") helpers.insert(p.pid + " " + p.comm);
  }
}

void diff(std::ostringstream& out, const char* what, const std::set<std::string>& before,
          const std::set<std::string>& after) {
  for (auto& x : after)
    if (!before.count(x)) out << "  leaked " << what << ": " << x << "\n";
}

}  // namespace

HostSnapshot HostSnapshot::take() {
  HostSnapshot s;
  s.nsfs_mounts = read_nsfs_mounts();
  s.netns_pins = dir_entries("/run/netns");
  s.links = dir_entries("/sys/class/net");
  s.nft_rules = read_nft_rules();
  processes(s.children, s.helpers);
  return s;
}

std::string describe_leaks(const HostSnapshot& before, const HostSnapshot& after) {
  std::ostringstream out;
  diff(out, "nsfs mount", before.nsfs_mounts, after.nsfs_mounts);
  diff(out, "/run/netns entry", before.netns_pins, after.netns_pins);
  diff(out, "network interface", before.links, after.links);
  diff(out, "nft rule", before.nft_rules, after.nft_rules);
  diff(out, "child process", before.children, after.children);
  diff(out, "helper process", before.helpers, after.helpers);
  return out.str();
}

}  // namespace podns::test
