// The Kubernetes shape, simulated on one machine: three "node" network namespaces on an underlay
// bridge (itself in a netns of its own, so the host's network is never touched), each node with
// its own podns state and run directory and its own pod CIDR, pods created on each node through
// podns-bridge (exec'd inside the node's netns, as a kubelet's runtime would), routes between the
// node CIDRs added the way a cluster's route controller would. A pod on node 1 pings the pods on
// nodes 2 and 3, with their own addresses (ipMasq false: pod addresses are routed).
#include <gtest/gtest.h>

#include <memory>

#include "../pod/pod_fixture.hpp"
#include "plugin_fixture.hpp"

namespace podns::test {
namespace {

using nlohmann::json;

struct Node {
  std::unique_ptr<TestNetns> ns;
  std::string underlay_ip;  // on the node's eth0
  std::string pod_cidr;     // "10.X.N.0/24"
  std::string state_dir, run_dir;
  std::unique_ptr<TestNetns> pod;
  std::string pod_ip;
};

TEST(PodnsBridge, ThreeNodesOnOneMachineRouteTheirPodCidrs) {
  REQUIRE_NETNS_TOOLS();
  TempDir dir("mnode");
  const int pid = ::getpid();
  const std::string underlay_net = fmt::format("198.19.{}.", pid % 250);
  const int cluster = 200 + pid % 50;  // 10.<cluster>.0.0/16, a /24 per node
  TestNetns underlay(dir / "underlay");
  ASSERT_TRUE(underlay.ok()) << underlay.error();
  ASSERT_EQ(underlay.ip({"link", "add", "ul0", "type", "bridge"}), "");
  ASSERT_EQ(underlay.ip({"link", "set", "ul0", "up"}), "");

  std::vector<Node> nodes(3);
  for (int i = 0; i < 3; ++i) {
    Node& n = nodes[static_cast<size_t>(i)];
    n.ns = std::make_unique<TestNetns>(dir / fmt::format("node{}.netns", i + 1));
    ASSERT_TRUE(n.ns->ok()) << n.ns->error();
    n.underlay_ip = underlay_net + std::to_string(i + 1);
    n.pod_cidr = fmt::format("10.{}.{}.0/24", cluster, i + 1);
    n.state_dir = dir / fmt::format("node{}/state", i + 1);
    n.run_dir = dir / fmt::format("node{}/run", i + 1);
    // The node's NIC: a veth from the node to the underlay bridge.
    const std::string port = fmt::format("n{}", i + 1);
    ASSERT_EQ(underlay.ip({"link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", n.ns->path()}), "");
    ASSERT_EQ(underlay.ip({"link", "set", port, "master", "ul0", "up"}), "");
    ASSERT_EQ(n.ns->ip({"addr", "add", n.underlay_ip + "/24", "dev", "eth0"}), "");
    ASSERT_EQ(n.ns->ip({"link", "set", "eth0", "up"}), "");
    ASSERT_EQ(n.ns->ip({"link", "set", "lo", "up"}), "");
  }
  // The route controller: every node reaches the other nodes' pod CIDRs through them.
  for (size_t i = 0; i < 3; ++i) {
    for (size_t j = 0; j < 3; ++j) {
      if (i == j) continue;
      ASSERT_EQ(nodes[i].ns->ip({"route", "add", nodes[j].pod_cidr, "via", nodes[j].underlay_ip}), "");
    }
  }

  auto conf = [&](const Node& n) {
    return json{{"cniVersion", "1.0.0"},
                {"name", "k8s-pod-network"},
                {"type", "podns-bridge"},
                {"bridge", "cni0"},
                {"isGateway", true},
                {"isDefaultGateway", true},
                {"ipMasq", false},
                {"ipam", {{"type", "host-local"}, {"ranges", {{{{"subnet", n.pod_cidr}}}}}}},
                {"podnsStateDir", n.state_dir},
                {"podnsRunDir", n.run_dir}};
  };
  // The plugin inside the node's netns: its bridge, sysctls and nftables table are the node's.
  auto plugin = [&](const Node& n, const std::string& command, const std::string& netns) {
    return run({"nsenter", "--net=" + n.ns->path(), PODNS_BRIDGE_PATH},
               {"CNI_COMMAND=" + command, "CNI_CONTAINERID=pod-" + std::to_string(&n - nodes.data() + 1),
                "CNI_NETNS=" + netns, "CNI_IFNAME=eth0", "CNI_PATH=" + cni_path()},
               conf(n).dump());
  };
  for (size_t i = 0; i < 3; ++i) {
    Node& n = nodes[i];
    n.pod = std::make_unique<TestNetns>(dir / fmt::format("pod{}", i + 1));
    ASSERT_TRUE(n.pod->ok());
    auto r = plugin(n, "ADD", n.pod->path());
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    n.pod_ip = first_ip(json::parse(r.out));
    EXPECT_EQ(n.pod_ip, fmt::format("10.{}.{}.2", cluster, i + 1));
  }
  // Each node keeps its own state: one attachment in each database.
  for (const auto& n : nodes) {
    auto store = state::Store::open(n.state_dir + "/podns.db");
    ASSERT_OK(store);
    auto leases = store->all_leases();
    ASSERT_OK(leases);
    ASSERT_EQ(leases->size(), 1u);
    EXPECT_EQ((*leases)[0].address, n.pod_ip);
  }
  EXPECT_TRUE(ping_from(nodes[0].pod->path(), nodes[1].pod_ip).value_or(false)) << nodes[1].pod_ip;
  EXPECT_TRUE(ping_from(nodes[0].pod->path(), nodes[2].pod_ip).value_or(false)) << nodes[2].pod_ip;
  EXPECT_TRUE(ping_from(nodes[2].pod->path(), nodes[1].pod_ip).value_or(false)) << nodes[1].pod_ip;

  for (auto& n : nodes) {
    auto r = plugin(n, "DEL", n.pod->path());
    EXPECT_EQ(r.exit_code, 0) << r.out;
  }
  for (const auto& n : nodes) {
    auto store = state::Store::open(n.state_dir + "/podns.db");
    ASSERT_OK(store);
    auto leases = store->all_leases();
    ASSERT_OK(leases);
    EXPECT_TRUE(leases->empty());
  }
  state::Store::close_idle();
  // The node netns go with their bridges and tables when their pins do.
}

}  // namespace
}  // namespace podns::test
