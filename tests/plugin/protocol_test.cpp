// podns-bridge's side of CNI's protocol that needs no kernel: VERSION, the banner, and every
// config or environment the plugin must refuse with the spec's error code before touching
// anything. Run in process through plugin::run (the executable is a thin main around it).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "plugin/netconf.hpp"
#include "podns/plugin/plugin.hpp"
#include "test_support.hpp"

namespace podns::plugin {
namespace {

using nlohmann::json;

json base_conf(const std::string& version = "1.0.0") {
  return {{"cniVersion", version},
          {"name", "k8s"},
          {"type", "podns-bridge"},
          {"bridge", "cni9"},
          {"ipam", {{"type", "host-local"}, {"ranges", {{{{"subnet", "10.244.1.0/24"}}}}}}}};
}

Invocation call(const std::string& command, const json& conf) {
  return {command, "c1", "/run/netns/x", "eth0", "", conf.dump()};
}

// The error object of a failed outcome.
json error_of(const Outcome& o) {
  EXPECT_EQ(o.exit_code, 1) << o.out;
  auto j = json::parse(o.out, nullptr, false);
  EXPECT_TRUE(j.is_object()) << o.out;
  return j;
}

TEST(PluginProtocol, VersionListsEverySupportedVersionInTheAskedOne) {
  auto o = run({"VERSION", "", "", "", "", R"({"cniVersion":"0.4.0"})"});
  ASSERT_EQ(o.exit_code, 0);
  auto j = json::parse(o.out);
  EXPECT_EQ(j["cniVersion"], "0.4.0");
  EXPECT_EQ(j["supportedVersions"], json({"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}));
  // No stdin, or a version podns-bridge lacks: the answer speaks the newest.
  EXPECT_EQ(json::parse(run({"VERSION", "", "", "", "", ""}).out)["cniVersion"], "1.1.0");
  EXPECT_EQ(json::parse(run({"VERSION", "", "", "", "", R"({"cniVersion":"0.2.0"})"}).out)["cniVersion"], "1.1.0");
}

TEST(PluginProtocol, WithoutACommandItSaysWhatItIs) {
  auto o = run({});
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.out, "");
  EXPECT_NE(o.err.find("CNI protocol versions supported: 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0"), std::string::npos);
}

TEST(PluginProtocol, RefusesWithTheSpecsCodes) {
  struct Case {
    std::string what;
    Invocation in;
    int code;
    std::string says;
  };
  auto conf = [](auto edit, const std::string& version = "1.0.0") {
    json c = base_conf(version);
    edit(c);
    return c;
  };
  std::vector<Case> cases = {
      {"not JSON", {"ADD", "c1", "/x", "eth0", "", "{nope"}, 6, "network configuration"},
      {"not an object", {"ADD", "c1", "/x", "eth0", "", "[1]"}, 6, "not a JSON object"},
      {"no version", call("ADD", conf([](json& c) { c.erase("cniVersion"); })), 1, "no cniVersion"},
      {"old version", call("ADD", base_conf("0.2.0")), 1, "0.2.0 is not supported"},
      {"bad name", call("ADD", conf([](json& c) { c["name"] = "a/b"; })), 7, "network name"},
      {"unknown verb", call("FROB", base_conf()), 4, "FROB"},
      {"no container id", {"ADD", "", "/x", "eth0", "", base_conf().dump()}, 4, "CNI_CONTAINERID is not set"},
      {"no netns", {"ADD", "c1", "", "", "", base_conf().dump()}, 4, "CNI_NETNS, CNI_IFNAME are not set"},
      {"bad CNI_ARGS", {"ADD", "c1", "/x", "eth0", "IP", base_conf().dump()}, 4, "CNI_ARGS"},
      {"no ipam", call("ADD", conf([](json& c) { c.erase("ipam"); })), 7, "ipam: missing"},
      {"dhcp", call("ADD", conf([](json& c) { c["ipam"]["type"] = "dhcp"; })), 2, "ipam type dhcp"},
      {"two ranges in a set",
       call("ADD", conf([](json& c) {
              c["ipam"]["ranges"][0].push_back({{"subnet", "10.244.2.0/24"}});
            })),
       2, "several ranges in one range set"},
      {"no subnet", call("ADD", conf([](json& c) { c["ipam"]["ranges"] = json::array(); })), 7, "no ranges"},
      {"host bits", call("ADD", conf([](json& c) { c["ipam"]["ranges"][0][0]["subnet"] = "10.244.1.5/24"; })), 7,
       "10.244.1.5/24"},
      {"range start outside",
       call("ADD", conf([](json& c) { c["ipam"]["ranges"][0][0]["rangeStart"] = "10.9.9.9"; })), 7, "outside"},
      {"isGateway false", call("ADD", conf([](json& c) { c["isGateway"] = false; })), 2, "isGateway"},
      {"vlan", call("ADD", conf([](json& c) { c["vlan"] = 100; })), 2, "vlan"},
      {"bad mtu", call("ADD", conf([](json& c) { c["mtu"] = "big"; })), 7, "mtu"},
      {"mtu too small", call("ADD", conf([](json& c) { c["mtu"] = 60; })), 7, "mtu 60"},
      {"bad bridge", call("ADD", conf([](json& c) { c["bridge"] = "much-too-long-bridge"; })), 7, "bridge"},
      {"relative state dir", call("ADD", conf([](json& c) { c["podnsStateDir"] = "state"; })), 7, "podnsStateDir"},
      {"bad port",
       call("ADD", conf([](json& c) {
              c["runtimeConfig"] = {{"portMappings", {{{"hostPort", 0}, {"containerPort", 80}}}}};
            })),
       7, "hostPort"},
      {"bad protocol",
       call("ADD", conf([](json& c) {
              c["runtimeConfig"] = {{"portMappings", {{{"hostPort", 80}, {"containerPort", 80}, {"protocol", "icmp"}}}}};
            })),
       7, "icmp"},
      {"bad ip", call("ADD", conf([](json& c) { c["runtimeConfig"] = {{"ips", {"10.244.1.300/24"}}}; })), 7,
       "not an IP address"},
      {"multicast mac", call("ADD", conf([](json& c) { c["runtimeConfig"] = {{"mac", "01:00:5e:00:00:01"}}; })), 7,
       "not a unicast MAC"},
      {"CHECK on 0.3.1", call("CHECK", base_conf("0.3.1")), 1, "CHECK needs"},
      {"CHECK without prevResult", call("CHECK", base_conf("1.0.0")), 7, "prevResult"},
      {"STATUS on 1.0.0", call("STATUS", base_conf("1.0.0")), 1, "STATUS needs"},
      {"GC on 1.0.0", call("GC", base_conf("1.0.0")), 1, "GC needs"},
      {"GC without the list", call("GC", base_conf("1.1.0")), 7, "valid-attachments"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    auto o = run(c.in);
    auto j = error_of(o);
    EXPECT_EQ(j.value("code", 0), c.code) << o.out;
    EXPECT_NE(j.value("msg", "").find(c.says), std::string::npos) << o.out;
    // The error speaks the config's version when it has a supported one.
    if (c.in.stdin_text.find("\"0.3.1\"") != std::string::npos) {
      EXPECT_EQ(j["cniVersion"], "0.3.1");
    }
  }
}

TEST(PluginNetconf, ReadsTheBridgePluginsOptionsAndHostLocalsShape) {
  json c = base_conf();
  c["isDefaultGateway"] = true;
  c["ipMasq"] = true;
  c["mtu"] = 1400;
  c["hairpinMode"] = false;  // accepted: hairpin is always on
  c["ipam"] = {{"type", "host-local"},
               {"ranges", {{{{"subnet", "10.244.1.0/24"}, {"rangeStart", "10.244.1.10"}, {"rangeEnd", "10.244.1.20"},
                             {"gateway", "10.244.1.254"}}},
                           {{{"subnet", "fd00:244:1::/64"}}}}},
               {"routes", {{{"dst", "0.0.0.0/0"}}, {{"dst", "192.168.0.0/16"}, {"gw", "10.244.1.1"}}}},
               {"dataDir", "/ignored"}};
  c["dns"] = {{"nameservers", {"10.96.0.10"}}, {"search", {"svc.cluster.local"}}};
  auto common = parse_common(c.dump());
  ASSERT_TRUE(common) << common.error().msg;
  auto n = parse_network(*common);
  ASSERT_TRUE(n) << n.error().msg;
  EXPECT_EQ(n->network.name, "k8s");
  EXPECT_EQ(n->network.bridge, "cni9");
  EXPECT_TRUE(n->network.masquerade);
  EXPECT_EQ(n->network.mtu, 1400u);
  EXPECT_TRUE(n->default_route);
  ASSERT_EQ(n->network.subnets.size(), 2u);
  EXPECT_EQ(n->network.subnets[0].range_start, "10.244.1.10");
  EXPECT_EQ(n->network.subnets[0].range_end, "10.244.1.20");
  EXPECT_EQ(n->network.subnets[0].gateway, "10.244.1.254");
  ASSERT_EQ(n->routes.size(), 2u);
  EXPECT_FALSE(n->routes[0].gw);
  EXPECT_EQ(n->routes[1].dst.str(), "192.168.0.0/16");
  EXPECT_EQ(n->dns.nameservers, std::vector<std::string>{"10.96.0.10"});
  auto made = network::make_network(n->network, {}, {});
  ASSERT_OK(made);
  EXPECT_EQ(made->ranges[0].start.str(), "10.244.1.10");
  EXPECT_EQ(made->ranges[0].end.str(), "10.244.1.20");
  EXPECT_EQ(made->ranges[0].capacity(), 11u);

  // The older single-range shape; the bridge plugin's defaults: bridge cni0, no masquerade.
  json old = {{"cniVersion", "0.3.1"}, {"name", "k8s"}, {"type", "podns-bridge"},
              {"ipam", {{"subnet", "10.22.0.0/16"}, {"rangeStart", "10.22.0.5"}}}};
  common = parse_common(old.dump());
  ASSERT_TRUE(common);
  n = parse_network(*common);
  ASSERT_TRUE(n) << n.error().msg;
  EXPECT_EQ(n->network.bridge, "cni0");
  EXPECT_FALSE(n->network.masquerade);
  EXPECT_FALSE(n->default_route);
  EXPECT_EQ(n->network.subnets.at(0).subnet, "10.22.0.0/16");
}

TEST(PluginNetconf, CapabilitiesAndCniArgs) {
  json c = base_conf();
  c["runtimeConfig"] = {{"portMappings",
                         {{{"hostPort", 8080}, {"containerPort", 80}, {"protocol", "TCP"}, {"hostIP", "0.0.0.0"}},
                          {{"hostPort", 8080}, {"containerPort", 80}, {"protocol", "tcp"}, {"hostIP", ""}},
                          {{"hostPort", 5353}, {"containerPort", 53}, {"protocol", "udp"}, {"hostIP", "127.0.0.1"}}}},
                        {"ips", {"10.244.1.7/24"}},
                        {"mac", "02:AA:BB:CC:DD:EE"}};
  auto common = parse_common(c.dump());
  ASSERT_TRUE(common);
  auto r = parse_requests(*common, {{"IgnoreUnknown", "1"}, {"K8S_POD_NAME", "web"}, {"IP", "fd00::7,10.244.1.7"}});
  ASSERT_TRUE(r) << r.error().msg;
  ASSERT_EQ(r->ports.size(), 2u);  // the two spellings of "every address" are one forward
  EXPECT_EQ(r->ports[0], (pod::PortSpec{"", 8080, 80, "tcp", 1}));
  EXPECT_EQ(r->ports[1], (pod::PortSpec{"127.0.0.1", 5353, 53, "udp", 1}));
  ASSERT_EQ(r->ips.size(), 2u);
  EXPECT_EQ(r->ips[0].str(), "10.244.1.7");
  EXPECT_EQ(r->ips[1].str(), "fd00::7");
  EXPECT_EQ(r->mac, "02:aa:bb:cc:dd:ee");

  c["cni.dev/valid-attachments"] = {{{"containerID", "a"}, {"ifname", "eth0"}}, {{"containerID", "b"}, {"ifname", "net1"}}};
  common = parse_common(c.dump());
  ASSERT_TRUE(common);
  auto valid = parse_valid_attachments(*common);
  ASSERT_TRUE(valid);
  ASSERT_EQ(valid->size(), 2u);
  EXPECT_EQ((*valid)[1], (pod::PluginKey{"k8s", "b", "net1"}));
}

}  // namespace
}  // namespace podns::plugin
