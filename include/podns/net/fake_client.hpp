// A recording net::Client for tests of error paths the kernel will not produce on demand (a dump
// failing halfway through a stats round, a link vanishing, a corrupt answer). Fill in the tables,
// arm failures, read back `calls`. Thread-safe, like the real client.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "podns/net/client.hpp"

namespace podns::net {

class FakeClient final : public Client {
 public:
  // What the fake answers with.
  std::vector<Link> link_table;
  std::vector<Address> address_table;
  std::vector<Route> route_table;

  // When set, the next calls of that method fail with this error (it stays armed until reset).
  std::optional<Error> links_error;
  std::optional<Error> link_error;
  std::optional<Error> addresses_error;
  std::optional<Error> routes_error;

  // Every call in order: "links", "link eth0", "addresses 2", "routes 10 254" (family, table).
  std::vector<std::string> calls() const;

  Result<std::vector<Link>> links() override;
  Result<Link> link(std::string_view name) override;
  Result<std::vector<Address>> addresses(int family = AF_UNSPEC) override;
  Result<std::vector<Route>> routes(int family = AF_UNSPEC, std::uint32_t table = kTableMain) override;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> calls_;
};

}  // namespace podns::net
