#include "podns/net/stats.hpp"

#include <sys/stat.h>

#include <algorithm>

namespace podns::net {

Result<std::vector<InterfaceStats>> collect_stats(Client& client) {
  auto links = client.links();
  if (!links) return fail_with(links, "collect interface stats");
  std::vector<InterfaceStats> out;
  out.reserve(links->size());
  for (Link& l : *links) {
    if (l.is_loopback()) continue;
    out.push_back(InterfaceStats{l.index, std::move(l.name), std::move(l.kind), l.operstate, l.stats.value_or(LinkStats{})});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
  return out;
}

Result<std::vector<InterfaceStats>> collect_stats(const std::string& netns_path) {
  auto client = open_netlink_client_in(netns_path);
  if (!client) return fail(client.error());
  auto stats = collect_stats(**client);
  if (!stats) return fail_with(stats, netns_path);
  return stats;
}

StatsCollector::StatsCollector(Opener opener) : opener_(std::move(opener)) {
  if (!opener_) opener_ = [](const std::string& path) { return open_netlink_client_in(path); };
}

Result<std::vector<InterfaceStats>> StatsCollector::collect(const std::string& netns_path) {
  // stat() on a pin reports the nsfs inode of the namespace mounted there: a new netns under the
  // same path (pod re-created) has another inode, and the old client would read the old netns.
  struct stat st {};
  std::shared_ptr<Client> client;
  {
    std::lock_guard lock(mu_);
    if (::stat(netns_path.c_str(), &st) < 0) {
      int err = errno;
      clients_.erase(netns_path);
      if (err == ENOENT) return fail(Errc::not_found, "netns " + netns_path);
      return fail_errno(err, "stat " + netns_path);
    }
    auto it = clients_.find(netns_path);
    if (it != clients_.end() && it->second.dev == st.st_dev && it->second.ino == st.st_ino) client = it->second.client;
  }
  if (!client) {
    // Opened outside the lock: entering a netns on a thread is the slow part, and other paths
    // need not wait for it.
    auto opened = opener_(netns_path);
    if (!opened) return fail(opened.error());
    client = std::shared_ptr<Client>(std::move(*opened));
    std::lock_guard lock(mu_);
    clients_[netns_path] = Entry{st.st_dev, st.st_ino, client};
  }
  auto stats = collect_stats(*client);
  if (!stats) return fail_with(stats, netns_path);
  return stats;
}

void StatsCollector::retain_only(const std::vector<std::string>& keep) {
  std::lock_guard lock(mu_);
  std::erase_if(clients_, [&](const auto& kv) { return std::find(keep.begin(), keep.end(), kv.first) == keep.end(); });
}

std::size_t StatsCollector::open_clients() const {
  std::lock_guard lock(mu_);
  return clients_.size();
}

}  // namespace podns::net
