#include "podns/net/fake_client.hpp"

#include <fmt/format.h>

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

}  // namespace podns::net
