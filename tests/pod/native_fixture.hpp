// Native-network test support: a PodWorld plus a "client" netns wired to the host by a veth (it
// stands in for a machine outside: traffic to it leaves the host through routing, masquerade
// included), and ping(8) from inside a pod for IPv4 and IPv6.
#pragma once

#include <fmt/format.h>

#include <string>

#include "../net/netns_fixture.hpp"
#include "pod_fixture.hpp"
#include "podns/pod/networks.hpp"

namespace podns::test {

// 198.18.N.0/30 (RFC 2544's benchmark range): host end .1, client .2, default route via .1.
class ClientNetns {
 public:
  explicit ClientNetns(const TempDir& dir) : ns_(dir / "client") {
    int n = ::getpid() % 250;
    host_ip_ = fmt::format("198.18.{}.1", n);
    client_ip_ = fmt::format("198.18.{}.2", n);
    host_if_ = unique_name("pcl");
    if (!ns_.ok()) {
      error_ = ns_.error();
      return;
    }
    auto r = run({"ip", "link", "add", host_if_, "type", "veth", "peer", "name", "eth0", "netns", ns_.path()});
    if (r.exit_code != 0) {
      error_ = "veth: " + r.err;
      return;
    }
    run({"ip", "addr", "add", host_ip_ + "/30", "dev", host_if_});
    run({"ip", "link", "set", host_if_, "up"});
    for (auto e : {ns_.ip({"addr", "add", client_ip_ + "/30", "dev", "eth0"}), ns_.ip({"link", "set", "eth0", "up"}),
                   ns_.ip({"link", "set", "lo", "up"}), ns_.ip({"route", "add", "default", "via", host_ip_})})
      if (!e.empty()) error_ = e;
    if (error_.empty()) error_ = ns_.wait_up("eth0");
  }
  ~ClientNetns() { run({"ip", "link", "del", host_if_}); }
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& path() const { return ns_.path(); }
  const std::string& host_ip() const { return host_ip_; }
  const std::string& client_ip() const { return client_ip_; }

 private:
  TestNetns ns_;
  std::string host_ip_, client_ip_, host_if_, error_;
};

// ping -c 1 from inside a netns (IPv4 or IPv6 by the address).
inline bool pings(const std::string& netns_path, const std::string& dst) {
  return run({"nsenter", "--net=" + netns_path, "ping", "-c", "1", "-W", "2", dst}).exit_code == 0;
}

}  // namespace podns::test
