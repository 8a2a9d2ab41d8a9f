// The host side of the data plane: rtnetlink in the host netns, podns's nftables table, the lock
// that keeps element updates and whole-table syncs apart, and the table the state asks for.
#include <fmt/format.h>

#include <map>

#include "podns/network/driver.hpp"
#include "podns/state/lock.hpp"
#include "sys/background_close.hpp"

namespace podns::network {

Result<fw::Ruleset> desired_ruleset(state::Store& store) {
  fw::Ruleset rs;
  auto nets = store.list_networks();
  if (!nets) return fail_with(nets, "read networks");
  for (const auto& rec : *nets) {
    auto n = Network::from_record(rec);
    if (!n) return fail(n.error());
    fw::NetworkRules rules{n->name, n->bridge, {}, n->internal, n->masquerade};
    for (const auto& r : n->ranges) rules.subnets.push_back(r.subnet.str());
    rs.networks.push_back(std::move(rules));
  }
  // Ports are published through a pod's first network: the leases of attachment 0.
  auto leases = store.all_leases();
  if (!leases) return fail_with(leases, "read leases");
  std::map<std::string, std::vector<state::Lease>> first;
  for (auto& l : *leases)
    if (l.index == 0) first[l.pod].push_back(std::move(l));
  if (first.empty()) return rs;
  auto ports = store.all_ports();
  if (!ports) return fail_with(ports, "read port mappings");
  std::map<std::string, std::vector<state::PortMapping>> by_pod;
  for (auto& p : *ports) by_pod[p.pod].push_back(std::move(p));
  for (const auto& [pod, pl] : by_pod) {
    auto it = first.find(pod);
    if (it == first.end()) continue;
    auto f = forwards_of(pl, it->second);
    rs.forwards.insert(rs.forwards.end(), f.begin(), f.end());
  }
  return rs;
}

HostPlane::HostPlane(std::unique_ptr<net::Client> links, fw::Firewall firewall, std::string lock_path)
    : links_(std::move(links)), firewall_(std::move(firewall)), lock_path_(std::move(lock_path)) {}

Result<std::unique_ptr<HostPlane>> HostPlane::open(const std::string& locks_dir, const std::string& nft_table) {
  auto links = net::open_netlink_client();
  if (!links) return fail(links.error());
  auto fw = fw::Firewall::open(nft_table);
  if (!fw) return fail(fw.error());
  return std::make_unique<HostPlane>(std::move(*links), std::move(*fw), locks_dir + "/firewall.lock");
}

Status HostPlane::update_forwards(state::Store& store, std::span<const fw::PortForward> add,
                                  std::span<const fw::PortForward> remove) {
  {
    auto lock = state::FileLock::acquire(lock_path_, state::FileLock::Mode::shared);
    if (!lock) return fail_with(lock, "lock the firewall");
    std::lock_guard guard(fw_mu_);
    auto s = firewall_.update(add, remove);
    if (s || !s.error().is(Errc::not_found)) return s;
  }
  // The table is gone (a reboot, `nft flush ruleset`): nothing left to remove, and what is to be
  // added is in the state already, with everything else the table needs.
  if (add.empty()) return {};
  return sync(store);
}

Status HostPlane::sync(state::Store& store) {
  auto lock = state::FileLock::acquire(lock_path_, state::FileLock::Mode::exclusive);
  if (!lock) return fail_with(lock, "lock the firewall");
  auto rs = desired_ruleset(store);
  if (!rs) return fail_with(rs, "rebuild the firewall");
  std::lock_guard guard(fw_mu_);
  if (auto s = firewall_.sync(*rs); !s) return fail_with(s, "rebuild the firewall");
  return {};
}

void HostPlane::hand_off_slow_close() {
  std::lock_guard guard(fw_mu_);
  if (!firewall_.removed_elements()) return;
  int fd = firewall_.socket().get();
  (void)sys::close_in_background({&fd, 1});
}

}  // namespace podns::network
