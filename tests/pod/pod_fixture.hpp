// Test support for pod tests with the real CNI plugins: a private run/state/config dir, a per-test
// bridge and subnet for the default network, and a guard that removes what the plugins leave on
// purpose (the bridge; the iptables chains CNI-FORWARD, CNI-ADMIN, CNI-HOSTPORT-* and the tables
// iptables-nft created for them) when the test did create them, so the leak check stays exact.
// Also a real ICMP ping from inside a pod's netns (ping(8) is not installed everywhere).
#pragma once

#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "podns/fd.hpp"
#include "podns/pin.hpp"
#include "podns/pod/networks.hpp"
#include "podns/pod/pod.hpp"
#include "podns/run_in_ns.hpp"
#include "test_support.hpp"

namespace podns::test {

// The CNI infrastructure chains the plugins create once per host and never delete.
inline const std::set<std::string> kCniInfraChains = {"CNI-FORWARD", "CNI-ADMIN", "CNI-HOSTPORT-DNAT",
                                                      "CNI-HOSTPORT-SETMARK", "CNI-HOSTPORT-MASQ"};

inline nlohmann::json nft_ruleset() {
  auto r = run({"nft", "-j", "list", "ruleset"});
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  if (!j.is_object() || !j.contains("nftables")) return nlohmann::json::array();
  return j["nftables"];
}

// Removes, among the chains and tables that did not exist in `before`, the CNI infrastructure
// chains once nothing but infrastructure is left in them (plus the jumps to them), then the tables
// left empty. A per-container chain or rule still there is a real leak and stays for the leak check.
inline void remove_new_cni_infra(const nlohmann::json& before) {
  if (!have_tool("nft")) return;
  std::set<std::string> old_tables, old_chains;
  for (const auto& o : before) {
    if (o.contains("table")) old_tables.insert(o["table"]["family"].get<std::string>() + " " + o["table"]["name"].get<std::string>());
    if (o.contains("chain"))
      old_chains.insert(o["chain"]["family"].get<std::string>() + " " + o["chain"]["table"].get<std::string>() + " " +
                        o["chain"]["name"].get<std::string>());
  }
  auto now = nft_ruleset();
  struct Rule {
    std::string family, table, chain;
    int64_t handle;
    std::set<std::string> targets;
  };
  std::vector<Rule> rules;
  std::set<std::string> candidates;  // "family table chain"
  for (const auto& o : now) {
    if (o.contains("chain")) {
      auto& c = o["chain"];
      std::string key = c["family"].get<std::string>() + " " + c["table"].get<std::string>() + " " + c["name"].get<std::string>();
      if (!old_chains.count(key) && kCniInfraChains.count(c["name"].get<std::string>())) candidates.insert(key);
    }
    if (o.contains("rule")) {
      auto& r = o["rule"];
      Rule rule{r["family"], r["table"], r["chain"], r["handle"].get<int64_t>(), {}};
      for (const auto& e : r["expr"]) {
        for (const char* k : {"jump", "goto"}) {
          if (e.contains(k)) rule.targets.insert(e[k]["target"].get<std::string>());
        }
      }
      rules.push_back(std::move(rule));
    }
  }
  // Fixed point: a candidate stays deletable while each of its rules only jumps to deletable
  // chains, or is one of portmap's fixed mark/masquerade rules.
  for (bool changed = true; changed;) {
    changed = false;
    for (const auto& r : rules) {
      std::string key = r.family + " " + r.table + " " + r.chain;
      if (!candidates.count(key)) continue;
      bool fixed = r.targets.empty() && (r.chain == "CNI-HOSTPORT-SETMARK" || r.chain == "CNI-HOSTPORT-MASQ");
      bool ok = fixed || !r.targets.empty();
      for (const auto& t : r.targets) ok = ok && candidates.count(r.family + " " + r.table + " " + t);
      if (!ok) {
        candidates.erase(key);
        changed = true;
      }
    }
  }
  for (const auto& r : rules) {
    std::string key = r.family + " " + r.table + " " + r.chain;
    if (candidates.count(key)) continue;
    for (const auto& t : r.targets) {
      if (candidates.count(r.family + " " + r.table + " " + t))
        run({"nft", "delete", "rule", r.family, r.table, r.chain, "handle", std::to_string(r.handle)});
    }
  }
  for (const auto& c : candidates) {
    auto a = c.find(' '), b = c.find(' ', a + 1);
    run({"nft", "flush", "chain", c.substr(0, a), c.substr(a + 1, b - a - 1), c.substr(b + 1)});
  }
  for (const auto& c : candidates) {
    auto a = c.find(' '), b = c.find(' ', a + 1);
    run({"nft", "delete", "chain", c.substr(0, a), c.substr(a + 1, b - a - 1), c.substr(b + 1)});
  }
  // Tables iptables-nft created during the test, now without any rule.
  now = nft_ruleset();
  std::map<std::string, int> rules_in;
  for (const auto& o : now) {
    if (o.contains("table")) rules_in[o["table"]["family"].get<std::string>() + " " + o["table"]["name"].get<std::string>()];
    if (o.contains("rule")) rules_in[o["rule"]["family"].get<std::string>() + " " + o["rule"]["table"].get<std::string>()]++;
  }
  for (const auto& [t, n] : rules_in) {
    if (n == 0 && !old_tables.count(t)) {
      auto a = t.find(' ');
      run({"nft", "delete", "table", t.substr(0, a), t.substr(a + 1)});
    }
  }
}

// One pod test's world: dirs, the default network on a bridge and subnet of its own, and cleanup.
class PodWorld {
 public:
  PodWorld() : dir_("pod") {
    nft_before_ = nft_ruleset();
    int pid = ::getpid();
    bridge_ = unique_name("pd");
    static int counter = 0;
    third_ = (pid / 16 + counter * 37) % 256;
    subnet_ = fmt::format("172.{}.{}.0/24", 16 + pid % 16, third_);
    ++counter;
    env = pod::PodEnv::from_paths(Paths::under(dir_ / "run", dir_ / "state"));
    env.cni_conf_dir = dir_ / "net.d";
    env.default_network.bridge = bridge_;
    env.default_network.subnet = subnet_;
    // A table of the test's own: a test never rewrites the host's podns table.
    env.nft_table = fmt::format("podns_t{}", pid);
    env.lock_timeout = std::chrono::seconds(30);
    env.on_warning = [this](const Error& e) { warnings.push_back(e.message()); };
  }
  ~PodWorld() { cleanup(); }
  PodWorld(const PodWorld&) = delete;
  PodWorld& operator=(const PodWorld&) = delete;

  // Removes every pod still recorded (a failed test), the bridges and the new CNI chains.
  void cleanup() {
    if (auto pods = pod::list(env)) {
      for (const auto& p : *pods) (void)pod::remove(env, p.name, {.force = true});
    }
    (void)pod::gc(env);
    // Native networks: their bridges and, with the last one, the test's nftables table.
    if (auto nets = pod::network_list(env)) {
      for (const auto& n : *nets)
        if (n.driver != "cni") (void)pod::network_remove(env, n.name, /*force=*/true);
    }
    for (const auto& b : extra_bridges) run({"ip", "link", "del", b});
    run({"ip", "link", "del", bridge_});
    remove_new_cni_infra(nft_before_);
  }

  const std::string& bridge() const { return bridge_; }
  const std::string& subnet() const { return subnet_; }
  // "172.A.B.<last>"
  std::string address(int last) const { return subnet_.substr(0, subnet_.rfind('.') + 1) + std::to_string(last); }
  const TempDir& dir() const { return dir_; }
  // Environment entries that point the CLI at this world.
  std::vector<std::string> cli_env() const {
    return {"PODNS_RUN_DIR=" + env.paths.run_dir, "PODNS_STATE_DIR=" + env.paths.state_dir,
            "NETCONFPATH=" + env.cni_conf_dir, "PODNS_DEFAULT_BRIDGE=" + bridge_, "PODNS_DEFAULT_SUBNET=" + subnet_,
            "PODNS_NFT_TABLE=" + env.nft_table};
  }
  // Write a second bridge network `name` into the CNI conf dir (its bridge removed by cleanup()).
  std::string write_bridge_network(const std::string& name, int third_octet) {
    std::string bridge = unique_name("pe");
    extra_bridges.push_back(bridge);
    std::string subnet = fmt::format("172.{}.{}.0/24", 16 + ::getpid() % 16, third_octet);
    nlohmann::json conf = {
        {"cniVersion", "1.0.0"},
        {"name", name},
        {"plugins",
         {{{"type", "bridge"},
           {"bridge", bridge},
           {"ipam",
            {{"type", "host-local"},
             {"ranges", {{{{"subnet", subnet}}}}},
             {"dataDir", dir_ / "state/networks"}}}}}}};
    write_file(env.cni_conf_dir + "/" + name + ".conflist", conf.dump(2));
    return subnet;
  }
  static void write_file(const std::string& path, const std::string& content) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << content;
  }

  pod::PodEnv env;
  std::vector<std::string> warnings;
  std::vector<std::string> extra_bridges;

 private:
  TempDir dir_;
  nlohmann::json nft_before_;
  std::string bridge_, subnet_;
  int third_ = 0;
};

inline uint16_t icmp_checksum(const void* data, size_t len) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (len & 1) sum += static_cast<uint32_t>(p[len - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons(static_cast<uint16_t>(~sum));
}

// One ICMP echo from inside the netns at `netns_path` to `dst` (IPv4): true when the reply came.
inline Result<bool> ping_from(const std::string& netns_path, const std::string& dst,
                              std::chrono::milliseconds timeout = std::chrono::seconds(2)) {
  // A raw socket belongs to the netns it was created in: create it inside, use it from here.
  auto sock = run_in_namespace_path(netns_path, NamespaceType::net, []() -> Result<int> {
    int fd = ::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (fd < 0) return fail_errno("socket(SOCK_RAW, IPPROTO_ICMP)");
    return fd;
  });
  if (!sock) return fail(sock.error());
  UniqueFd fd(*sock);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  if (inet_pton(AF_INET, dst.c_str(), &to.sin_addr) != 1) return fail(Errc::invalid_argument, dst);
  icmphdr req{};
  req.type = ICMP_ECHO;
  req.un.echo.id = htons(static_cast<uint16_t>(::getpid()));
  req.un.echo.sequence = htons(1);
  req.checksum = icmp_checksum(&req, sizeof req);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  if (::sendto(fd.get(), &req, sizeof req, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0)
    return fail_errno("sendto " + dst);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[1500];
    sockaddr_in from{};
    socklen_t fl = sizeof from;
    ssize_t n = ::recvfrom(fd.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
    if (n < static_cast<ssize_t>(sizeof(iphdr) + sizeof(icmphdr))) continue;
    auto* ip = reinterpret_cast<iphdr*>(buf);
    auto* icmp = reinterpret_cast<icmphdr*>(buf + ip->ihl * 4);
    if (from.sin_addr.s_addr == to.sin_addr.s_addr && icmp->type == ICMP_ECHOREPLY &&
        icmp->un.echo.id == req.un.echo.id)
      return true;
  }
}

// Nothing of pod `name` remains: state, pins, CNI cache entries, host-local leases.
inline void expect_no_trace(PodWorld& w, const std::string& name) {
  EXPECT_TRUE(pod::inspect(w.env, name).error().is(Errc::not_found));
  auto pins = find_pins(w.env.paths, name);
  ASSERT_OK(pins);
  EXPECT_TRUE(pins->empty());
  std::string id = pod::container_id(name);
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(w.env.paths.cni_cache_dir + "/results", ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); ++it)
    EXPECT_EQ(it->path().filename().string().find("-" + id + "-"), std::string::npos) << it->path();
  for (auto it = std::filesystem::recursive_directory_iterator(w.env.default_network.data_dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); ++it) {
    if (!it->is_regular_file()) continue;
    std::ifstream f(it->path());
    std::string first;
    std::getline(f, first);
    EXPECT_NE(first.substr(0, first.find('\r')), id) << "lease " << it->path();
  }
}

// The JSON of a pod without what inspect adds from the kernel: what create and ls print.
inline nlohmann::json stored_json(pod::PodInfo info) {
  info.live.reset();
  for (auto& n : info.networks) n.live.reset();
  return pod::to_json(info);
}

// The address part of "10.1.2.3/24".
inline std::string strip_prefix(const std::string& cidr) { return cidr.substr(0, cidr.find('/')); }

}  // namespace podns::test
