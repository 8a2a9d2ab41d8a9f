// The runtime against Debian's real CNI plugins on real, podns-pinned network namespaces: a
// bridge + host-local + portmap + firewall + tuning + bandwidth chain and loopback. Two pods ping
// each other over the bridge, a published port reaches a listener in a pod, and after DEL nothing
// is left: no host-local lease, no veth, no rule from the chain.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "cni_test_util.hpp"
#include "cni/bridge_ipmasq.hpp"
#include "podns/cni/runtime.hpp"

namespace podns::cni {
namespace {

using nlohmann::json;
using podns::test::run;
using podns::test::TempDir;

constexpr const char* kPlugins = "/usr/lib/cni";

std::string strip_prefix(const std::string& cidr) { return cidr.substr(0, cidr.find('/')); }

// Connect to ip:port and read what the peer says, retrying while the listener starts; never more
// than ~10 s in all (a non-blocking connect, so a black-holed SYN cannot hang the test).
std::string fetch(const std::string& ip, int port) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < until) {
    podns::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, ip.c_str(), &sa.sin_addr);
    int rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    if (rc == 0 || errno == EINPROGRESS) {
      pollfd p{fd.get(), POLLOUT, 0};
      int err = 0;
      socklen_t len = sizeof err;
      if (::poll(&p, 1, 1000) == 1 && ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
        pollfd in{fd.get(), POLLIN, 0};
        char buf[64];
        if (::poll(&in, 1, 2000) == 1) {
          ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
          if (n > 0) return std::string(buf, static_cast<std::size_t>(n));
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return {};
}

class RealChain : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    PODNS_REQUIRE_ROOT();
    PODNS_REQUIRE_TOOL("/usr/lib/cni/bridge", "containernetworking-plugins");
    PODNS_REQUIRE_TOOL("nsenter", "util-linux");
    PODNS_REQUIRE_TOOL("busybox", "busybox-static");
    PODNS_REQUIRE_TOOL("nft", "nftables");
    PODNS_REQUIRE_TOOL("iptables", "iptables");
    bridge_ = podns::test::unique_name("cb");
    network_ = podns::test::unique_name("cnet");
    static int counter = 0;
    subnet_prefix_ = fmt::format("10.{}.{}", 200 + getpid() % 50, (counter++ * 7 + getpid() / 50) % 250);
    RuntimeOptions o;
    o.plugin_dirs = {fake_.path(), kPlugins};
    o.cache_dir = dir_ / "cache";
    o.on_warning = [this](const Error& e) { warnings_.push_back(e.message()); };
    runtime_ = std::make_unique<Runtime>(o);
  }
  void TearDown() override {
    // A failed assertion must not leak what the plugins made: DEL everything ADDed (idempotent).
    for (auto& [net, conf] : attached_) (void)runtime_->del(net, conf);
    if (!bridge_.empty()) run({"ip", "link", "del", bridge_});
  }
  Result<CniResult> add(const NetworkConfigList& net, const RuntimeConf& conf) {
    attached_.emplace_back(net, conf);
    return runtime_->add(net, conf);
  }

  json chain_doc(const std::string& version) {
    return json{
        {"cniVersion", version},
        {"name", network_},
        {"plugins",
         json::array({
             {{"type", "bridge"}, {"bridge", bridge_}, {"isGateway", true}, {"ipMasq", true}, {"hairpinMode", true},
              {"ipam",
               {{"type", "host-local"},
                {"ranges", json::array({json::array({{{"subnet", subnet_prefix_ + ".0/24"}}})})},
                {"routes", json::array({{{"dst", "0.0.0.0/0"}}})},
                {"dataDir", ipam_dir()}}}},
             {{"type", "portmap"}, {"capabilities", {{"portMappings", true}}}, {"snat", true}},
             {{"type", "firewall"}, {"backend", "iptables"}},
             {{"type", "tuning"}, {"sysctl", {{"net.core.somaxconn", "512"}}}},
             {{"type", "bandwidth"}, {"capabilities", {{"bandwidth", true}}}},
         })}};
  }
  NetworkConfigList chain(const std::string& version, const std::vector<json>& extra_plugins = {}) {
    json doc = chain_doc(version);
    for (auto& p : extra_plugins) doc["plugins"].push_back(p);
    auto l = parse_network_list(doc.dump());
    EXPECT_TRUE(l.has_value()) << l.error().message();
    return *l;
  }
  std::string ipam_dir() const { return dir_ / "ipam"; }
  // host-local's leases: one file per allocated IP in <dataDir>/<network>.
  std::vector<std::string> leases() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto& e : std::filesystem::directory_iterator(ipam_dir() + "/" + network_, ec)) {
      std::string n = e.path().filename();
      if (n != "lock" && n.rfind("last_reserved_ip", 0) != 0) out.push_back(n);
    }
    return out;
  }
  // Host-side veths enslaved to our bridge.
  std::size_t bridge_ports() const {
    auto r = run({"ip", "-j", "link", "show", "master", bridge_});
    auto j = json::parse(r.out, nullptr, false);
    return j.is_array() ? j.size() : 0;
  }
  std::size_t rules_mentioning(const std::string& ip) const {
    auto r = run({"nft", "list", "ruleset"});
    std::size_t n = 0;
    for (std::size_t p = r.out.find(ip); p != std::string::npos; p = r.out.find(ip, p + 1)) ++n;
    return n;
  }
  RuntimeConf pod(const std::string& cid, const test::TestNetns& ns) {
    RuntimeConf c;
    c.container_id = cid;
    c.netns = ns.path();
    c.ifname = "eth0";
    c.args = {{"IgnoreUnknown", "1"}};
    return c;
  }

  test::NftJanitor janitor_;  // first member: destroyed last, after every DEL
  TempDir dir_{"cnireal"};
  test::FakeBin fake_;
  std::string bridge_, network_, subnet_prefix_;
  std::unique_ptr<Runtime> runtime_;
  std::vector<std::string> warnings_;
  std::vector<std::pair<NetworkConfigList, RuntimeConf>> attached_;
};

TEST_P(RealChain, PodsPingAndPublishedPortReachesListenerThenDelLeavesNothing) {
  test::TestNetns ns1, ns2;
  ASSERT_FALSE(ns1.path().empty()) << ns1.error();
  ASSERT_FALSE(ns2.path().empty()) << ns2.error();
  auto net = chain(GetParam());
  const int host_port = 20000 + getpid() % 20000;
  RuntimeConf p1 = pod(podns::test::unique_name("p"), ns1), p2 = pod(podns::test::unique_name("p"), ns2);
  p1.capability_args = {
      {"portMappings", json::array({{{"hostPort", host_port}, {"containerPort", 8080}, {"protocol", "tcp"}}})},
      {"bandwidth", {{"ingressRate", 100000000}, {"ingressBurst", 1000000}, {"egressRate", 100000000}, {"egressBurst", 1000000}}}};

  auto r1 = add(net, p1);
  ASSERT_OK(r1);
  auto r2 = add(net, p2);
  ASSERT_OK(r2);
  ASSERT_FALSE(r1->ips.empty());
  ASSERT_FALSE(r2->ips.empty());
  EXPECT_EQ(r1->cni_version, GetParam());
  const std::string ip1 = strip_prefix(r1->ips[0].address), ip2 = strip_prefix(r2->ips[0].address);
  EXPECT_EQ(ip1.rfind(subnet_prefix_ + ".", 0), 0u) << ip1;
  EXPECT_EQ(leases().size(), 2u);
  EXPECT_EQ(bridge_ports(), 2u);
  bool sandbox_iface = false;
  for (auto& i : r1->interfaces) sandbox_iface = sandbox_iface || (i.name == "eth0" && i.sandbox == ns1.path());
  EXPECT_TRUE(sandbox_iface);

  // Pod to pod over the bridge.
  auto ping = run({"nsenter", "--net=" + ns1.path(), "busybox", "ping", "-c", "1", "-W", "3", ip2});
  EXPECT_EQ(ping.exit_code, 0) << ping.out << ping.err;
  // Tuning ran inside the pod.
  auto sysctl = run({"nsenter", "--net=" + ns1.path(), "cat", "/proc/sys/net/core/somaxconn"});
  EXPECT_EQ(sysctl.out, "512\n");

  // The published port reaches a listener in pod 1 (localhost, through portmap's DNAT).
  {
    test::Background listener({"nsenter", "--net=" + ns1.path(), "/usr/bin/python3", "-c",
                               "import socket\n"
                               "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                               "s.bind(('0.0.0.0', 8080)); s.listen(8)\n"
                               "while True:\n"
                               "  c,_=s.accept(); c.sendall(b'hello from pod'); c.close()\n"});
    ASSERT_GT(listener.pid(), 0);
    // Directly (host to pod over the bridge), then through the published port on localhost.
    EXPECT_EQ(fetch(ip1, 8080), "hello from pod");
    EXPECT_EQ(fetch("127.0.0.1", host_port), "hello from pod")
        << "route_localnet on " << bridge_ << ": "
        << test::read_text("/proc/sys/net/ipv4/conf/" + bridge_ + "/route_localnet");
  }
  // CHECK: portmap 1.1.1's CHECK fails on hosts with ip6tables when a pod has no IPv6 mapping
  // ("could not check ipv6 dnat: chain ... not found"), an upstream bug; check the rest of the chain.
  json no_portmap = chain_doc(GetParam());
  no_portmap["plugins"].erase(1);
  auto check_net = parse_network_list(no_portmap.dump());
  ASSERT_OK(check_net);
  ASSERT_OK(runtime_->check(*check_net, p1));
  EXPECT_GT(rules_mentioning(ip1), 0u);

  ASSERT_OK(runtime_->del(net, p1));
  ASSERT_OK(runtime_->del(net, p2));
  EXPECT_TRUE(leases().empty());
  EXPECT_EQ(bridge_ports(), 0u);
  EXPECT_EQ(rules_mentioning(ip1), 0u);
  EXPECT_EQ(rules_mentioning(ip2), 0u);
  EXPECT_EQ(rules_mentioning(std::to_string(host_port)), 0u);
  EXPECT_TRUE(runtime_->cached_attachments(network_)->empty());
  // DEL again: idempotent.
  ASSERT_OK(runtime_->del(net, p1));
  EXPECT_TRUE(warnings_.empty());
}

TEST_P(RealChain, DelWorksAfterTheNetnsIsGone) {
  // bridge 1.1.1 finds its ipMasq rules through the pod's interface, so with the netns gone it
  // leaves them behind (an upstream limitation: pods should be DELeted before their netns goes);
  // everything else must still be released.
  json doc = chain_doc(GetParam());
  doc["plugins"][0]["ipMasq"] = false;
  auto parsed = parse_network_list(doc.dump());
  ASSERT_OK(parsed);
  auto net = *parsed;
  test::TestNetns ns;
  ASSERT_FALSE(ns.path().empty()) << ns.error();
  RuntimeConf p = pod(podns::test::unique_name("p"), ns);
  p.capability_args = {{"portMappings", json::array({{{"hostPort", 30000 + getpid() % 20000}, {"containerPort", 80}, {"protocol", "tcp"}}})}};
  auto r = add(net, p);
  ASSERT_OK(r);
  const std::string ip = strip_prefix(r->ips[0].address);
  ns.remove();  // the pod's netns is gone before DEL (a crashed runtime, a reboot of the pin dir)
  ASSERT_OK(runtime_->del(net, p));
  EXPECT_TRUE(leases().empty());
  EXPECT_EQ(rules_mentioning(ip), 0u);
  for (int i = 0; i < 50 && bridge_ports() != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(bridge_ports(), 0u);
}

// With ipMasq on, bridge 1.1.1's DEL without the netns leaves the pod's NAT chain and its
// POSTROUTING jump behind; remove_leaked_ipmasq (what pod rm and gc run then) takes them.
TEST_P(RealChain, IpMasqRulesADelWithoutTheNetnsLeavesAreRemovedByName) {
  auto net = chain(GetParam());
  test::TestNetns ns;
  ASSERT_FALSE(ns.path().empty()) << ns.error();
  RuntimeConf p = pod(podns::test::unique_name("p"), ns);
  ASSERT_TRUE(uses_bridge_ipmasq(net));
  // The rules as iptables lists them (nft does not print an xt comment match).
  auto masq_rules = [&] {
    auto r = run({"iptables", "-w", "-t", "nat", "-S"});
    std::size_t n = 0;
    for (std::size_t at = r.out.find(p.container_id); at != std::string::npos; at = r.out.find(p.container_id, at + 1)) ++n;
    return n;
  };
  auto r = add(net, p);
  ASSERT_OK(r);
  EXPECT_GT(masq_rules(), 0u);
  ns.remove();
  ASSERT_OK(runtime_->del(net, p));
  EXPECT_GT(masq_rules(), 0u) << "bridge's DEL without the netns took its ipMasq rules: the workaround may "
                                 "no longer be needed";
  ASSERT_OK(remove_leaked_ipmasq(network_, p.container_id));
  EXPECT_EQ(masq_rules(), 0u) << run({"iptables", "-w", "-t", "nat", "-S"}).out;
  // Idempotent.
  ASSERT_OK(remove_leaked_ipmasq(network_, p.container_id));
}

TEST_P(RealChain, FailedAddLeavesNothingHalfAttached) {
  fake_.install("failer");
  auto net = chain(GetParam(), {{{"type", "failer"},
                                 {"fake", {{"fail", {{"ADD", {{"code", 11}, {"msg", "not today"}}}}}}}}});
  test::TestNetns ns;
  ASSERT_FALSE(ns.path().empty()) << ns.error();
  RuntimeConf p = pod(podns::test::unique_name("p"), ns);
  auto r = add(net, p);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("plugin failer (ADD)"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("CNI error 11"), std::string::npos);
  EXPECT_TRUE(leases().empty());
  EXPECT_EQ(bridge_ports(), 0u);
  EXPECT_TRUE(runtime_->cached_attachments(network_)->empty());
  EXPECT_TRUE(warnings_.empty()) << warnings_.front();
}

INSTANTIATE_TEST_SUITE_P(Versions, RealChain, ::testing::Values("1.0.0", "0.4.0"),
                         [](const auto& info) { return info.param == "1.0.0" ? "v100" : "v040"; });

TEST(RealLoopback, BringsUpLoInPinnedNetns) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("/usr/lib/cni/loopback", "containernetworking-plugins");
  TempDir dir("cnilo");
  test::TestNetns ns;
  ASSERT_FALSE(ns.path().empty()) << ns.error();
  auto net = parse_network_list(R"({"cniVersion":"1.0.0","name":"lo","plugins":[{"type":"loopback"}]})");
  ASSERT_OK(net);
  RuntimeOptions o;
  o.plugin_dirs = {kPlugins};
  o.cache_dir = dir / "cache";
  Runtime rt(o);
  RuntimeConf c;
  c.container_id = podns::test::unique_name("lo");
  c.netns = ns.path();
  c.ifname = "lo";
  auto r = rt.add(*net, c);
  ASSERT_OK(r);
  auto ip = run({"nsenter", "--net=" + ns.path(), "ip", "-j", "addr", "show", "lo"});
  auto j = json::parse(ip.out, nullptr, false);
  ASSERT_TRUE(j.is_array() && !j.empty()) << ip.out << ip.err;
  EXPECT_NE(j[0]["flags"].dump().find("UP"), std::string::npos);
  EXPECT_NE(ip.out.find("127.0.0.1"), std::string::npos);
  ASSERT_OK(rt.check(*net, c));
  ASSERT_OK(rt.del(*net, c));
  auto after = run({"nsenter", "--net=" + ns.path(), "ip", "-j", "link", "show", "lo"});
  EXPECT_EQ(json::parse(after.out, nullptr, false)[0]["flags"].dump().find("\"UP\""), std::string::npos);
}

}  // namespace
}  // namespace podns::cni
