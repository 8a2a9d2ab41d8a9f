#include "podns/net/interfaces.hpp"

#include <algorithm>
#include <map>

namespace podns::net {

Result<std::vector<InterfaceState>> live_interfaces(Client& client, bool include_loopback) {
  auto links = client.links();
  if (!links) return fail_with(links, "read interfaces");
  auto addrs = client.addresses(AF_UNSPEC);
  if (!addrs) return fail_with(addrs, "read interfaces");
  // A link may appear or vanish between the two dumps; addresses of a link we did not see are
  // dropped, a link without addresses just has none.
  std::vector<InterfaceState> out;
  std::map<int, std::size_t> by_index;
  for (Link& l : *links) {
    if (l.is_loopback() && !include_loopback) continue;
    by_index[l.index] = out.size();
    out.push_back(InterfaceState{std::move(l), {}});
  }
  std::stable_sort(addrs->begin(), addrs->end(), [](const Address& a, const Address& b) {
    return (a.family == AF_INET ? 0 : 1) < (b.family == AF_INET ? 0 : 1);
  });
  for (Address& a : *addrs)
    if (auto it = by_index.find(a.index); it != by_index.end()) out[it->second].addresses.push_back(std::move(a));
  return out;
}

Result<std::vector<InterfaceState>> live_interfaces(const std::string& netns_path, bool include_loopback) {
  auto client = open_netlink_client_in(netns_path);
  if (!client) return fail(client.error());
  auto out = live_interfaces(**client, include_loopback);
  if (!out) return fail_with(out, netns_path);
  return out;
}

}  // namespace podns::net
