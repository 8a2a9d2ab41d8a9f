#include "leak_check.hpp"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>

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

// Our children, and podns-related helpers anywhere (a daemonized slirp4netns reparents to init).
void processes(std::set<std::string>& children, std::set<std::string>& helpers) {
  const std::string self = std::to_string(getpid());
  for (auto& pid : dir_entries("/proc")) {
    if (pid.find_first_not_of("0123456789") != std::string::npos || pid == self) continue;
    std::ifstream st("/proc/" + pid + "/stat");
    std::string stat;
    std::getline(st, stat);
    auto open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::string comm = stat.substr(open + 1, close - open - 1);
    std::istringstream rest(stat.substr(close + 2));
    std::string state, ppid;
    rest >> state >> ppid;
    if (ppid == self) children.insert(pid + " " + comm + " [" + state + "]");
    // podns-pidns is the sleeping init that keeps a pinned pid namespace joinable; podns-pause
    // holds a user's rootless session (src/rootless/session.cpp).
    if (comm == "podns" || comm == "podns-pidns" || comm == "podns-pause" || comm == "slirp4netns" || comm == "pasta" ||
        comm == "passt" || comm == "pasta.avx2" || comm == "passt.avx2")
      helpers.insert(pid + " " + comm);
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
