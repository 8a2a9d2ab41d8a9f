// pod create / inspect / rm against the real kernel and the real CNI plugins.
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "pod_fixture.hpp"
#include "podns/namespace.hpp"
#include "podns/pin.hpp"
#include "podns/pod/networks.hpp"
#include "podns/pod/pod.hpp"
#include "podns/state/store.hpp"

namespace podns::pod {
namespace {

using podns::test::PodWorld;
namespace fs = std::filesystem;

size_t files_in(const std::string& dir) {
  std::error_code ec;
  size_t n = 0;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); ++it)
    n += it->is_regular_file() ? 1 : 0;
  return n;
}

// host-local leases: files named by address (not "last_reserved_ip.0", not "lock").
size_t leases_in(const std::string& data_dir) {
  std::error_code ec;
  size_t n = 0;
  for (auto it = fs::recursive_directory_iterator(data_dir, ec); !ec && it != fs::recursive_directory_iterator(); ++it) {
    auto f = it->path().filename().string();
    if (it->is_regular_file() && f.rfind("last_reserved_ip", 0) != 0 && f != "lock") ++n;
  }
  return n;
}

// Nothing of any pod remains: no state, no pins, no CNI cache entry, no lease.
void expect_nothing_left(PodWorld& w) {
  auto pods = list(w.env);
  ASSERT_OK(pods);
  EXPECT_TRUE(pods->empty());
  auto pins = list_pins(w.env.paths);
  ASSERT_OK(pins);
  EXPECT_TRUE(pins->empty()) << pins->front().path;
  EXPECT_EQ(files_in(w.env.paths.cni_cache_dir + "/results"), 0u);
  EXPECT_EQ(leases_in(w.env.default_network.data_dir), 0u);
}

TEST(PodCreate, DefaultNetworkInspectAndRemove) {
  PODNS_REQUIRE_CNI();
  PodWorld w;
  CreateOptions o;
  o.name = "web";
  o.ports = {{"127.0.0.1", 18000 + getpid() % 1000, 80, "tcp"}};
  auto info = create(w.env, o);
  ASSERT_OK(info);
  EXPECT_EQ(info->phase, state::PodPhase::ready);
  EXPECT_EQ(info->netns_path, w.env.paths.netns_dir + "/web");
  ASSERT_EQ(info->networks.size(), 1u);
  const auto& n = info->networks[0];
  EXPECT_EQ(n.network, "podns");
  EXPECT_EQ(n.ifname, "eth0");
  EXPECT_EQ(n.mac.size(), 17u);
  ASSERT_EQ(n.addresses.size(), 1u);
  EXPECT_EQ(n.addresses[0].address.rfind(w.address(0).substr(0, w.address(0).size() - 1), 0), 0u) << n.addresses[0].address;
  EXPECT_EQ(n.addresses[0].gateway, w.address(1));
  ASSERT_EQ(n.ports.size(), 1u);
  EXPECT_EQ(n.ports[0].container_port, 80);
  // The default network is native, made on first use on our bridge: no conflist is written.
  auto net = network_inspect(w.env, "podns");
  ASSERT_OK(net);
  EXPECT_EQ(net->network.bridge, w.bridge());
  EXPECT_TRUE(net->bridge_present);
  EXPECT_FALSE(std::filesystem::exists(w.env.podns_conf_dir + "/podns.conflist"));
  // Real kernel objects: the pins are live, the netns has eth0 with that address, lo is up.
  for (const auto& [type, path] : info->pins) {
    auto live = pin_is_live(path);
    ASSERT_OK(live);
    EXPECT_TRUE(*live) << path;
  }
  auto flags = run_in_namespace_path(info->netns_path, NamespaceType::net, []() -> Result<int> {
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, IFNAMSIZ, "lo");
    if (::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) return fail_errno("SIOCGIFFLAGS lo");
    return ifr.ifr_flags;
  });
  ASSERT_OK(flags);
  EXPECT_TRUE(*flags & IFF_UP);
  // inspect and ls read the same from the state; inspect adds what the kernel has now. eth0's
  // operstate turns UP when the kernel's linkwatch work has seen the carrier, which may be just
  // after create returns: ask again until it has.
  auto again = inspect(w.env, "web");
  EXPECT_TRUE(test::eventually([&] {
    again = inspect(w.env, "web");
    return again && !again->networks.empty() && again->networks[0].live && again->networks[0].live->operstate == "UP";
  })) << "eth0 never became operationally UP";
  ASSERT_OK(again);
  ASSERT_TRUE(again->live.has_value());
  EXPECT_EQ(again->live->netns, NetnsLiveness::present);
  EXPECT_EQ(again->live->error, "");
  ASSERT_TRUE(again->networks.at(0).live.has_value());
  const auto& live = *again->networks[0].live;
  EXPECT_TRUE(live.present);
  EXPECT_TRUE(live.admin_up);
  EXPECT_EQ(live.operstate, "UP");
  EXPECT_EQ(live.mtu, 1500u);
  EXPECT_EQ(live.mac, n.mac);
  ASSERT_FALSE(live.addresses.empty());
  EXPECT_EQ(live.addresses[0], n.addresses[0].address);
  auto stored = to_json(*again);
  EXPECT_EQ(stored["live"]["netns"], "present");
  EXPECT_EQ(stored["networks"][0]["live"]["operstate"], "UP");
  stored.erase("live");
  stored["networks"][0].erase("live");
  EXPECT_EQ(stored, to_json(*info));
  auto all = list(w.env);
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(to_json(all->front()), to_json(*info));  // ls: the summary columns say the same

  ASSERT_OK(remove(w.env, "web"));
  expect_nothing_left(w);
  EXPECT_TRUE(inspect(w.env, "web").error().is(Errc::not_found));
  EXPECT_TRUE(w.warnings.empty()) << w.warnings.front();
}

TEST(PodCreate, TwoPodsPingEachOther) {
  PODNS_REQUIRE_CNI();
  PodWorld w;
  auto a = create(w.env, {.name = "a"});
  ASSERT_OK(a);
  auto b = create(w.env, {.name = "b"});
  ASSERT_OK(b);
  std::string ip_a = test::strip_prefix(a->networks[0].addresses[0].address);
  std::string ip_b = test::strip_prefix(b->networks[0].addresses[0].address);
  EXPECT_NE(ip_a, ip_b);
  auto ab = test::ping_from(a->netns_path, ip_b);
  ASSERT_OK(ab);
  EXPECT_TRUE(*ab) << "a cannot ping b at " << ip_b;
  auto ba = test::ping_from(b->netns_path, ip_a);
  ASSERT_OK(ba);
  EXPECT_TRUE(*ba) << "b cannot ping a at " << ip_a;
  ASSERT_OK(remove(w.env, "a"));
  ASSERT_OK(remove(w.env, "b"));
  expect_nothing_left(w);
}

TEST(PodCreate, HostReachesPublishedPort) {
  PODNS_REQUIRE_CNI();
  PodWorld w;
  int host_port = 20000 + getpid() % 20000;
  auto p = create(w.env, {.name = "srv", .ports = {{"127.0.0.1", host_port, 8080, "tcp"}}});
  ASSERT_OK(p);
  // A small server inside the pod: the listening socket is created in the pod's netns (sockets
  // belong to the netns they were created in) and served from a thread here.
  auto lfd = run_in_namespace_path(p->netns_path, NamespaceType::net, []() -> Result<int> {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(8080);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4) != 0) return fail_errno("listen");
    return fd;
  });
  ASSERT_OK(lfd);
  UniqueFd listener(*lfd);
  std::thread server([&] {
    pollfd pf{listener.get(), POLLIN, 0};
    if (::poll(&pf, 1, 5000) != 1) return;
    UniqueFd c(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (c) (void)!::write(c.get(), "hello from the pod\n", 19);
  });
  std::string got;
  for (int attempt = 0; attempt < 20 && got.empty(); ++attempt) {
    UniqueFd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(host_port));
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    if (::connect(c.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) {
      char buf[64];
      ssize_t n = ::read(c.get(), buf, sizeof buf);
      if (n > 0) got.assign(buf, static_cast<size_t>(n));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  server.join();
  EXPECT_EQ(got, "hello from the pod\n");
  listener.reset();
  ASSERT_OK(remove(w.env, "srv"));
  expect_nothing_left(w);
}

TEST(PodCreate, StaticIpMacSysctlAndTwoNetworks) {
  PODNS_REQUIRE_CNI();
  PodWorld w;
  std::string second = w.write_bridge_network("backend", 200 + getpid() % 50);
  CreateOptions o;
  o.name = "multi";
  o.networks = {"podns", "backend"};
  o.ip = w.address(50);
  o.mac = "02:42:ac:11:00:32";
  o.sysctls = {{"net.ipv4.ip_unprivileged_port_start", "80"}};
  auto info = create(w.env, o);
  ASSERT_OK(info);
  ASSERT_EQ(info->networks.size(), 2u);
  EXPECT_EQ(info->networks[0].ifname, "eth0");
  EXPECT_EQ(info->networks[0].network, "podns");
  EXPECT_EQ(info->networks[0].addresses.at(0).address, w.address(50) + "/24");
  EXPECT_EQ(info->networks[0].mac, "02:42:ac:11:00:32");
  EXPECT_EQ(info->networks[1].ifname, "eth1");
  EXPECT_EQ(info->networks[1].network, "backend");
  EXPECT_EQ(info->networks[1].addresses.at(0).address.rfind(second.substr(0, second.rfind('.')), 0), 0u);
  // The kernel agrees: MAC of eth0 and the sysctl inside the pod's netns (not the host's).
  auto seen = run_in_namespace_path(info->netns_path, NamespaceType::net, []() -> Result<std::string> {
    std::ifstream f("/proc/sys/net/ipv4/ip_unprivileged_port_start");
    std::string v;
    f >> v;
    std::ifstream m("/sys/class/net/eth0/address");  // sysfs is the host's: read through ioctl instead
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, IFNAMSIZ, "eth0");
    if (::ioctl(s.get(), SIOCGIFHWADDR, &ifr) != 0) return fail_errno("SIOCGIFHWADDR");
    auto* b = reinterpret_cast<unsigned char*>(ifr.ifr_hwaddr.sa_data);
    return v + fmt::format(" {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4], b[5]);
  });
  ASSERT_OK(seen);
  EXPECT_EQ(*seen, "80 02:42:ac:11:00:32");
  std::ifstream host("/proc/sys/net/ipv4/ip_unprivileged_port_start");
  std::string host_value;
  host >> host_value;
  EXPECT_NE(host_value, "80");
  ASSERT_OK(remove(w.env, "multi"));
  expect_nothing_left(w);
}

TEST(PodCreate, RemoveWorksWhenTheNetnsWasDeletedBehindOurBack) {
  PODNS_REQUIRE_CNI();
  PodWorld w;
  auto info = create(w.env, {.name = "gone"});
  ASSERT_OK(info);
  ASSERT_OK(remove_pin(info->netns_path, w.env.paths.netns_dir));  // `ip netns del gone`
  // inspect says so instead of failing.
  auto insp = inspect(w.env, "gone");
  ASSERT_OK(insp);
  ASSERT_TRUE(insp->live.has_value());
  EXPECT_EQ(insp->live->netns, NetnsLiveness::gone);
  EXPECT_FALSE(insp->networks.at(0).live.has_value());
  EXPECT_EQ(to_json(*insp)["live"]["netns"], "gone");
  EXPECT_EQ(insp->networks[0].addresses, info->networks[0].addresses);  // what CNI reported stays
  ASSERT_OK(remove(w.env, "gone"));
  expect_nothing_left(w);
  // Idempotent: a second rm reports the pod missing; --force makes that a success.
  EXPECT_TRUE(remove(w.env, "gone").error().is(Errc::not_found));
  EXPECT_OK(remove(w.env, "gone", {.force = true}));
}

TEST(PodCreate, InspectSaysWhenAnInterfaceIsGone) {
  PODNS_REQUIRE_CNI();
  PodWorld w;
  auto info = create(w.env, {.name = "nolink"});
  ASSERT_OK(info);
  // `ip -n nolink link del eth0`, behind podns's back.
  auto del = test::run({"nsenter", "--net=" + info->netns_path, "ip", "link", "del", "eth0"});
  ASSERT_EQ(del.exit_code, 0) << del.err;
  auto insp = inspect(w.env, "nolink");
  ASSERT_OK(insp);
  EXPECT_EQ(insp->live->netns, NetnsLiveness::present);
  ASSERT_TRUE(insp->networks.at(0).live.has_value());
  EXPECT_FALSE(insp->networks[0].live->present);
  auto j = to_json(*insp);
  EXPECT_EQ(j["networks"][0]["live"], nlohmann::json({{"present", false}}));
  EXPECT_EQ(j["networks"][0]["mac"], info->networks[0].mac);  // CNI's report is kept next to it
  // rm still cleans up everything (the DEL of an interface that is gone succeeds).
  ASSERT_OK(remove(w.env, "nolink"));
  expect_nothing_left(w);
}

// Sysctls are written when the namespaces are created (inside the user namespace's helper when
// there is one), except those naming an interface CNI creates later, which follow the attach.
void expect_sysctls_applied(PodWorld& w, const std::string& name, const std::string& userns) {
  CreateOptions o;
  o.name = name;
  o.userns = userns;
  o.sysctls = {{"net.ipv4.conf.default.arp_announce", "2"},  // at creation: eth0 inherits it
               {"net.ipv4.conf.eth0.arp_ignore", "1"},       // after the attach: names eth0
               {"net.ipv4.ip_unprivileged_port_start", "80"}};
  auto info = create(w.env, o);
  ASSERT_OK(info);
  auto seen = run_in_namespace_path(info->netns_path, NamespaceType::net, []() -> Result<std::string> {
    std::string out;
    for (const char* f : {"/proc/sys/net/ipv4/conf/eth0/arp_announce", "/proc/sys/net/ipv4/conf/eth0/arp_ignore",
                          "/proc/sys/net/ipv4/ip_unprivileged_port_start"}) {
      std::ifstream in(f);
      std::string v;
      in >> v;
      out += v + " ";
    }
    return out;
  });
  ASSERT_OK(seen);
  EXPECT_EQ(*seen, "2 1 80 ");
  ASSERT_OK(remove(w.env, name));
  expect_nothing_left(w);
}

TEST(PodCreate, SysctlsAtCreationAndAfterTheAttach) {
  PODNS_REQUIRE_CNI();
  PodWorld w;
  expect_sysctls_applied(w, "sc", "");
}

TEST(PodCreate, SysctlsWithAUserNamespaceAreWrittenAtCreation) {
  PODNS_REQUIRE_CNI();
  PodWorld w;
  expect_sysctls_applied(w, "scu", "0:1100000:65536");
}

TEST(PodCreate, UserNamespaceOwnsThePodsNamespaces) {
  PODNS_REQUIRE_CNI();
  PodWorld w;
  auto info = create(w.env, {.name = "userns", .userns = "0:1000000:65536"});
  ASSERT_OK(info);
  ASSERT_FALSE(info->userns_path.empty());
  auto userns = Namespace::open_path(info->userns_path, NamespaceType::user);
  ASSERT_OK(userns);
  auto netns = Namespace::open_path(info->netns_path, NamespaceType::net);
  ASSERT_OK(netns);
  auto owner = netns->owner_userns();
  ASSERT_OK(owner);
  EXPECT_TRUE(*owner == *userns) << "the pod's netns must be owned by its user namespace";
  ASSERT_TRUE(info->userns_mappings);
  EXPECT_EQ(info->userns_mappings->uid.at(0).host_id, 1000000u);
  auto spec = oci_spec(w.env, "userns");
  ASSERT_OK(spec);
  auto& ns = (*spec)["linux"]["namespaces"];
  ASSERT_GE(ns.size(), 4u);
  EXPECT_EQ(ns[0]["type"], "user");  // the join order: user first
  EXPECT_EQ(ns[0]["path"], info->userns_path);
  EXPECT_EQ((*spec)["linux"]["uidMappings"][0]["size"], 65536);
  // The network works inside it.
  ASSERT_EQ(info->networks.size(), 1u);
  EXPECT_FALSE(info->networks[0].addresses.empty());
  ASSERT_OK(remove(w.env, "userns"));
  expect_nothing_left(w);
}

TEST(PodCreate, ExecRunsInThePodsNamespaces) {
  PODNS_REQUIRE_CNI();
  PodWorld w;
  auto info = create(w.env, {.name = "ex"});
  ASSERT_OK(info);
  std::string out = w.dir() / "out";
  auto code = exec(w.env, "ex", {"sh", "-c", "readlink /proc/self/ns/net /proc/self/ns/uts > " + out + "; exit 7"});
  ASSERT_OK(code);
  EXPECT_EQ(*code, 7);
  auto netns = Namespace::open_path(info->netns_path, NamespaceType::net);
  ASSERT_OK(netns);
  std::ifstream f(out);
  std::string line;
  std::getline(f, line);
  EXPECT_EQ(line, fmt::format("net:[{}]", netns->id().ino));
  EXPECT_TRUE(exec(w.env, "nope", {"true"}).error().is(Errc::not_found));
  ASSERT_OK(remove(w.env, "ex"));
}

}  // namespace
}  // namespace podns::pod
