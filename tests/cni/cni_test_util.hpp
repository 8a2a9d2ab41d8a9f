// Helpers for the CNI tests: a CNI_PATH of fake plugins, pinned test netns, cleanup of the
// iptables/nft objects real plugins leave by design, and background processes.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "podns/cni/runtime.hpp"
#include "podns/paths.hpp"
#include "podns/pin.hpp"
#include "test_support.hpp"

namespace podns::cni::test {

using nlohmann::json;
using podns::test::TempDir;

inline std::string fake_plugin_source() { return podns::test::source_dir() + "/tests/cni/fake_plugin.py"; }

// A private CNI_PATH holding fake plugins (symlinks to fake_plugin.py named after their type).
class FakeBin {
 public:
  FakeBin() : dir_("cnibin") {}
  const std::string& path() const { return dir_.path(); }
  // Install fake plugin `type`, optionally claiming only `versions` in VERSION and on every verb.
  void install(const std::string& type, const std::vector<std::string>& versions = {}) {
    std::filesystem::create_symlink(fake_plugin_source(), dir_ / type);
    if (!versions.empty()) std::ofstream(dir_ / (type + ".versions")) << json(versions).dump();
  }
  std::string log() const { return dir_ / "calls.log"; }
  // Every call the fakes saw, in order.
  std::vector<json> calls() const {
    std::vector<json> out;
    std::ifstream f(log());
    for (std::string line; std::getline(f, line);)
      if (!line.empty()) out.push_back(json::parse(line));
    return out;
  }
  std::string file(const std::string& name) const { return dir_ / name; }

 private:
  TempDir dir_;
};

using podns::test::read_text;
inline void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// A new netns pinned below a private run dir; removed on destruction.
class TestNetns {
 public:
  TestNetns() : root_("cnins"), paths_(Paths::under(root_ / "run", root_ / "state")) {
    name_ = podns::test::unique_name("cn");
    auto p = create_pinned(paths_, NamespaceType::net, name_);
    if (p) path_ = p->path;
    else error_ = p.error().message();
  }
  ~TestNetns() {
    if (!path_.empty()) (void)remove_pinned(paths_, name_);
  }
  const std::string& path() const { return path_; }
  const std::string& error() const { return error_; }
  // Remove the pin now (the namespace goes away with it).
  void remove() {
    (void)remove_pinned(paths_, name_);
    path_.clear();
  }

 private:
  TempDir root_;
  Paths paths_;
  std::string name_, path_, error_;
};

// A process started in the background, killed and reaped on destruction.
class Background {
 public:
  explicit Background(const std::vector<std::string>& argv) {
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    if (posix_spawnp(&pid_, a[0], nullptr, &attr, a.data(), environ) != 0) pid_ = -1;
    posix_spawnattr_destroy(&attr);
  }
  ~Background() {
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);
      int st;
      ::waitpid(pid_, &st, 0);
    }
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// The nft objects (tables, chains) that exist now; on destruction, rules jumping to chains that
// appeared since, those chains (CNI-* ones even when not empty, others only when empty), and tables
// that appeared since and are empty are deleted. Real portmap/firewall leave CNI-FORWARD, CNI-HOSTPORT-* & co. behind by design.
class NftJanitor {
 public:
  NftJanitor() { before_ = objects(); }
  ~NftJanitor() { clean(); }
  void clean();

 private:
  struct Objects {
    std::set<std::string> tables;  // "family name"
    std::set<std::string> chains;  // "family table chain"
  };
  static Objects objects();
  Objects before_;
};

inline NftJanitor::Objects NftJanitor::objects() {
  Objects o;
  auto r = podns::test::run({"nft", "-j", "list", "ruleset"});
  auto j = json::parse(r.out, nullptr, false);
  if (!j.is_object() || !j.contains("nftables")) return o;
  for (auto& e : j["nftables"]) {
    if (e.contains("table")) o.tables.insert(e["table"]["family"].get<std::string>() + " " + e["table"]["name"].get<std::string>());
    if (e.contains("chain"))
      o.chains.insert(e["chain"]["family"].get<std::string>() + " " + e["chain"]["table"].get<std::string>() + " " +
                      e["chain"]["name"].get<std::string>());
  }
  return o;
}

inline void NftJanitor::clean() {
  using podns::test::run;
  auto r = run({"nft", "-j", "list", "ruleset"});
  auto j = json::parse(r.out, nullptr, false);
  if (!j.is_object() || !j.contains("nftables")) return;
  std::set<std::string> new_chains;
  std::map<std::string, int> rules_in;
  for (auto& e : j["nftables"])
    if (e.contains("chain")) {
      auto& c = e["chain"];
      std::string key = c["family"].get<std::string>() + " " + c["table"].get<std::string>() + " " + c["name"].get<std::string>();
      if (!before_.chains.count(key)) new_chains.insert(key);
    }
  // Rules that jump to a new chain go first (e.g. FORWARD -> CNI-FORWARD).
  for (auto& e : j["nftables"]) {
    if (!e.contains("rule")) continue;
    auto& rl = e["rule"];
    std::string fam = rl["family"], table = rl["table"], chain = rl["chain"];
    bool jumps_to_new = false;
    std::string dump = rl["expr"].dump();
    for (auto& nc : new_chains) {
      auto target = nc.substr(nc.rfind(' ') + 1);
      if (nc.rfind(fam + " " + table + " ", 0) == 0 &&
          (dump.find("\"target\":\"" + target + "\"") != std::string::npos))
        jumps_to_new = true;
    }
    if (jumps_to_new)
      run({"nft", "delete", "rule", fam, table, chain, "handle", std::to_string(rl["handle"].get<long>())});
    else
      rules_in[fam + " " + table + " " + chain]++;
  }
  // New chains, only when nothing of someone else's is in them (flush-free), several passes since
  // new chains may jump to each other.
  for (int pass = 0; pass < 3; ++pass)
    for (auto& nc : new_chains) {
      std::istringstream ss(nc);
      std::string fam, table, chain;
      ss >> fam >> table >> chain;
      // CNI-* chains that appeared during the test are the plugins' (portmap's CNI-HOSTPORT-MASQ
      // and -SETMARK keep static rules forever): flush them too.
      if (chain.rfind("CNI-", 0) == 0) run({"nft", "flush", "chain", fam, table, chain});
      else if (rules_in[nc] != 0) continue;
      run({"nft", "delete", "chain", fam, table, chain});
    }
  // New tables that hold no rules any more.
  auto now = objects();
  auto r2 = run({"nft", "-j", "list", "ruleset"});
  auto j2 = json::parse(r2.out, nullptr, false);
  std::set<std::string> tables_with_rules;
  if (j2.is_object() && j2.contains("nftables"))
    for (auto& e : j2["nftables"])
      if (e.contains("rule")) tables_with_rules.insert(e["rule"]["family"].get<std::string>() + " " + e["rule"]["table"].get<std::string>());
  for (auto& t : now.tables) {
    if (before_.tables.count(t) || tables_with_rules.count(t)) continue;
    std::istringstream ss(t);
    std::string fam, name;
    ss >> fam >> name;
    run({"nft", "delete", "table", fam, name});
  }
}

}  // namespace podns::cni::test
