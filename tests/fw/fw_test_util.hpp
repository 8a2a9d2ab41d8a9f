// Helpers for the firewall tests: a table of the test's own that goes away whatever happens, nft's
// JSON view of it, and a thread living in a private network namespace.
#pragma once

#include <sched.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "podns/fw/firewall.hpp"
#include "test_support.hpp"

// The firewall tests need root and nft(8) (to read back what the kernel has).
#define REQUIRE_NFT()                       \
  do {                                      \
    PODNS_REQUIRE_ROOT();                   \
    PODNS_REQUIRE_TOOL("nft", "nftables");  \
  } while (0)

namespace podns::fw::test {

// A short tag unique to this test process, for names of its own.
inline std::string tag() { return std::to_string(::getpid() % 100000); }

// A table name of this test alone; the table is deleted when the guard goes, even after a failed
// assertion. Never anyone else's table, never `flush ruleset`.
class TableGuard {
 public:
  TableGuard() : name_(podns::test::unique_name("podns_t")) {}
  ~TableGuard() { podns::test::run({"nft", "delete", "table", "inet", name_}); }
  TableGuard(const TableGuard&) = delete;
  TableGuard& operator=(const TableGuard&) = delete;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// `nft -j list ...` parsed; null when nft failed.
inline nlohmann::json nft_json(const std::vector<std::string>& what) {
  std::vector<std::string> argv{"nft", "-j", "list"};
  argv.insert(argv.end(), what.begin(), what.end());
  auto r = podns::test::run(argv);
  if (r.exit_code != 0) return nullptr;
  return nlohmann::json::parse(r.out, nullptr, false);
}

// How many objects of `kind` ("rule", "chain", "set", "map") nft lists in table inet `table`.
inline int count_objects(const std::string& table, const std::string& kind) {
  auto j = nft_json({"table", "inet", table});
  if (!j.is_object() || !j.contains("nftables")) return -1;
  int n = 0;
  for (const auto& item : j["nftables"])
    if (item.contains(kind)) ++n;
  return n;
}

inline bool table_exists(const std::string& table) {
  return podns::test::run({"nft", "list", "table", "inet", table}).exit_code == 0;
}

// Runs `fn` on a thread of its own that first unshares its network namespace: an nf_tables and
// interface playground that disappears with the thread (nothing to clean up on the host). Commands
// spawned from that thread (podns::test::run) run in it too. Returns false if unshare failed.
inline bool in_private_netns(const std::function<void()>& fn) {
  bool ok = false;
  std::thread t([&] {
    if (::unshare(CLONE_NEWNET) != 0) return;
    ok = true;
    fn();
  });
  t.join();
  return ok;
}

// Two networks (one with IPv4 and IPv6, one internal) on bridges that need not exist.
inline Ruleset sample_ruleset(const std::string& tag) {
  Ruleset rs;
  rs.networks.push_back({"web", "pw" + tag, {"10.89.0.0/24", "fd00:89::/64"}, false});
  rs.networks.push_back({"db", "pd" + tag, {"10.90.0.0/24"}, true});
  return rs;
}

inline std::vector<PortForward> sample_forwards() {
  return {
      {Proto::tcp, "127.0.0.1", 8080, "10.89.0.2", 80},
      {Proto::udp, "", 5353, "10.89.0.3", 53},
      {Proto::tcp, "fd00:1::5", 8443, "fd00:89::2", 443},
      {Proto::sctp, "", 9999, "fd00:89::3", 9},
  };
}

}  // namespace podns::fw::test
