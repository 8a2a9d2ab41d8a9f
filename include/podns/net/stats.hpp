// Per-interface counters of a pod's network namespace, for `podns pod stats`.
//
// StatsCollector keeps one rtnetlink client per netns pin, opened on first use, so that a
// `--watch` loop or a monitoring thread costs one netlink dump per pod per round and no setns at
// all. It checks that a pin still names the same netns on every round (a pod removed and created
// again under the same name gets a new netns), and retain_only() closes the clients of pods that
// went away: an open client keeps its netns alive.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "podns/error.hpp"
#include "podns/net/client.hpp"
#include "podns/net/types.hpp"

namespace podns::net {

struct InterfaceStats {
  int index = 0;
  std::string ifname;
  std::string kind;  // "veth", "tap", ... as in Link::kind
  OperState operstate = OperState::unknown;
  LinkStats stats;
  friend bool operator==(const InterfaceStats&, const InterfaceStats&) = default;
};

// Counters of every link but loopback, in ifindex order. Links the kernel sent without
// IFLA_STATS64 report zeros.
[[nodiscard]] Result<std::vector<InterfaceStats>> collect_stats(Client& client);
// Same for the netns pinned at `netns_path` (opens a client for this one call).
[[nodiscard]] Result<std::vector<InterfaceStats>> collect_stats(const std::string& netns_path);

class StatsCollector {
 public:
  using Opener = std::function<Result<std::unique_ptr<Client>>(const std::string& netns_path)>;
  // The default opener is open_netlink_client_in(path); any other net::Client serves as well.
  explicit StatsCollector(Opener opener = {});

  // Stats of the netns pinned at `netns_path`, reusing the client opened for it earlier when the
  // pin still names the same netns. Errc::not_found when the pin is gone (its client is closed).
  [[nodiscard]] Result<std::vector<InterfaceStats>> collect(const std::string& netns_path);
  // Close the clients of every path not in `keep`.
  void retain_only(const std::vector<std::string>& keep);
  std::size_t open_clients() const;

 private:
  struct Entry {
    dev_t dev = 0;
    ino_t ino = 0;  // the netns's nsfs inode: the identity of the namespace behind the pin
    std::shared_ptr<Client> client;
  };
  Opener opener_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> clients_;
};

}  // namespace podns::net
