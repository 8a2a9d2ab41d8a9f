#include "fake_client.hpp"

#include <net/if.h>

#include <algorithm>

#include <fmt/format.h>

#include "net/rtnl_write.hpp"
#include "podns/names.hpp"

namespace podns::net {

std::vector<std::string> FakeClient::calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

Result<std::vector<Link>> FakeClient::links() {
  std::lock_guard lock(mu_);
  calls_.push_back("links");
  if (links_error) return fail(*links_error);
  return link_table;
}

Result<Link> FakeClient::link(std::string_view name) {
  std::lock_guard lock(mu_);
  calls_.push_back(fmt::format("link {}", name));
  if (link_error) return fail(*link_error);
  // Same contract as the real client: a bad name is refused before anything is asked.
  if (auto st = validate_ifname(name); !st) return fail_with(st, fmt::format("get link {}", name));
  for (const Link& l : link_table)
    if (l.name == name) return l;
  return fail(Errc::not_found, fmt::format("link {}", name));
}

Result<std::vector<Address>> FakeClient::addresses(int family) {
  std::lock_guard lock(mu_);
  calls_.push_back(fmt::format("addresses {}", family));
  if (addresses_error) return fail(*addresses_error);
  std::vector<Address> out;
  for (const Address& a : address_table)
    if (family == AF_UNSPEC || a.family == family) out.push_back(a);
  return out;
}

Result<std::vector<Route>> FakeClient::routes(int family, std::uint32_t table) {
  std::lock_guard lock(mu_);
  calls_.push_back(fmt::format("routes {} {}", family, table));
  if (routes_error) return fail(*routes_error);
  std::vector<Route> out;
  for (const Route& r : route_table)
    if ((family == AF_UNSPEC || r.family == family) && (table == kAllTables || r.table == table)) out.push_back(r);
  return out;
}

namespace {

// The real client's checks: the same writer, into a buffer nobody sends.
template <class Request, class Write>
Status check_like_real(const Request& req, Write write) {
  detail::RequestBuffer buf;
  auto msg = write(buf, req);
  if (!msg) return fail(Error(msg.error()).context(detail::describe(req)));
  return {};
}

}  // namespace

bool FakeClient::has_link_locked(std::string_view name) const {
  return std::any_of(link_table.begin(), link_table.end(), [&](const Link& l) { return l.name == name; });
}

Result<int> FakeClient::create_bridge(const BridgeRequest& req) {
  std::lock_guard lock(mu_);
  calls_.push_back(fmt::format("create_bridge {} mtu={}", req.name, req.mtu));
  if (create_bridge_error) return fail(*create_bridge_error);
  if (auto st = check_like_real(req, detail::write_new_bridge); !st) return fail(st.error());
  if (has_link_locked(req.name)) return fail(Errc::already_exists, detail::describe(req));
  Link link;
  link.index = next_index++;
  link.name = req.name;
  link.kind = "bridge";
  link.mtu = req.mtu ? req.mtu : 1500;
  link_table.push_back(link);
  return link.index;
}

Result<int> FakeClient::create_veth(const VethRequest& req) {
  std::lock_guard lock(mu_);
  std::string call = fmt::format("create_veth {} {} master={} mtu={}", req.host_name, req.peer_name, req.master, req.mtu);
  if (!req.peer_mac.empty()) call += " mac=" + req.peer_mac;
  if (!req.host_up) call += " down";
  if (req.hairpin) call += " hairpin";
  calls_.push_back(std::move(call));
  if (create_veth_error) return fail(*create_veth_error);
  if (auto st = check_like_real(req, detail::write_new_veth); !st) return fail(st.error());
  if (has_link_locked(req.host_name)) return fail(Errc::already_exists, detail::describe(req));
  Link link;
  link.index = next_index++;
  link.name = req.host_name;
  link.kind = "veth";
  link.mtu = req.mtu ? req.mtu : 1500;
  link.master = req.master;
  link.flags = req.host_up ? IFF_UP : 0;
  link_table.push_back(link);
  return link.index;
}

Status FakeClient::set_link(const LinkChange& change) {
  std::lock_guard lock(mu_);
  calls_.push_back(fmt::format("set_link {} {}{}{}", change.index, change.up ? "up" : "down",
                               change.arp_notify ? " arp_notify" : "",
                               change.no_ipv6_link_local ? " no_ipv6_link_local" : ""));
  if (set_link_error) return fail(*set_link_error);
  return check_like_real(change, detail::write_link_flags);
}

Status FakeClient::add_address(const AddressRequest& req) {
  std::lock_guard lock(mu_);
  bool v6 = req.address.find(':') != std::string::npos;
  calls_.push_back(fmt::format("add_address {} {}/{}{}", req.index, req.address, req.prefix_len,
                               v6 && req.nodad ? " nodad" : ""));
  if (add_address_error) return fail(*add_address_error);
  return check_like_real(req, detail::write_new_address);
}

Status FakeClient::add_route(const RouteRequest& req) {
  std::lock_guard lock(mu_);
  std::string call = "add_route ";
  if (req.dst.empty()) call += req.family == AF_INET6 ? "::/0" : "0.0.0.0/0";
  else call += fmt::format("{}/{}", req.dst, req.dst_len);
  if (!req.gateway.empty()) call += " via " + req.gateway;
  if (req.oif) call += fmt::format(" oif={}", req.oif);
  if (req.mtu) call += fmt::format(" mtu={}", req.mtu);
  calls_.push_back(std::move(call));
  if (add_route_error) return fail(*add_route_error);
  return check_like_real(req, detail::write_new_route);
}

Status FakeClient::delete_link(int index) {
  std::lock_guard lock(mu_);
  calls_.push_back(fmt::format("delete_link {}", index));
  if (delete_link_error) return fail(*delete_link_error);
  detail::RequestBuffer buf;
  if (auto msg = detail::write_del_link(buf, index); !msg)
    return fail(Error(msg.error()).context(detail::describe_delete_link(index)));
  std::erase_if(link_table, [&](const Link& l) { return l.index == index; });
  return {};
}

}  // namespace podns::net
