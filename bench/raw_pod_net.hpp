// The kernel floor for one pod's network: what the native driver is judged against. Plain libmnl
// for encoding and raw syscalls, no podns code, the fewest kernel round trips an honest
// implementation needs:
//
//   setup    unshare(CLONE_NEWNET) on the calling thread, open the new netns (/proc/thread-self)
//            and a NETLINK_ROUTE socket in it, setns() straight back (as `ip netns add` does; a
//            short-lived thread would add a clone and a wait for a CPU);
//            ONE RTM_NEWLINK from the host netns: the veth, peer "eth0" born in the pod netns
//            (IFLA_NET_NS_FD), host end enslaved to the bridge (IFLA_MASTER) and up, one queue
//            per end (see put_single_queue);
//            through the pod's socket: RTM_NEWADDR, RTM_NEWLINK (up), RTM_NEWROUTE (default).
//   teardown close the netns fd: the kernel destroys the netns and both veth ends with it, later
//            and in batches (no RCU grace period per device paid by the caller).
//
// eth0's ifindex is not asked for: in a netns made for the pod only lo (1) exists, and ifindexes
// are allocated per netns, so the first link made in it is 2. Nothing else holds the netns (it is
// never pinned), so nothing else can have made a link there first.
//
// The bridge is the host's (created once by setup_bridge, removed by teardown_bridge); the pods'
// addresses never leave their netns and nothing is routed on the host.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace rawnet {

// Send one request and wait for its ack: 0 or -errno. Data replies are skipped (none asked for).
// The socket need not be bound: the kernel autobinds it on the first send.
inline int request(int fd, nlmsghdr* nlh, std::uint32_t seq) {
  nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  nlh->nlmsg_seq = seq;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  while (::sendto(fd, nlh, nlh->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0)
    if (errno != EINTR) return -errno;
  alignas(nlmsghdr) char buf[8192];
  for (;;) {
    ssize_t got = ::recv(fd, buf, sizeof(buf), 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    int left = static_cast<int>(got);
    for (auto* m = reinterpret_cast<const nlmsghdr*>(buf); mnl_nlmsg_ok(m, left); m = mnl_nlmsg_next(m, &left)) {
      if (m->nlmsg_seq != seq || m->nlmsg_type != NLMSG_ERROR) continue;
      return static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(m))->error;
    }
  }
}

inline int route_socket() { return ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE); }

// The host side, shared by every pod: the host netns (to come back to) and a socket in it.
struct Host {
  int netns = -1;
  int sock = -1;
  int bridge = 0;  // ifindex
  std::string bridge_name;
  std::uint32_t seq = 1;
};

struct alignas(nlmsghdr) Buffer {
  char bytes[512];
};

// Create `name` (a bench-only bridge in the host netns) and bring it up. 0 or -errno.
inline int setup_bridge(Host& host, const char* name) {
  host.netns = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  host.sock = route_socket();
  if (host.netns < 0 || host.sock < 0) return -errno;
  Buffer b{};
  nlmsghdr* nlh = mnl_nlmsg_put_header(b.bytes);
  nlh->nlmsg_type = RTM_NEWLINK;
  nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_flags = ifi->ifi_change = IFF_UP;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  nlattr* info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end(nlh, info);
  if (int err = request(host.sock, nlh, host.seq++); err < 0) return err;
  host.bridge_name = name;
  host.bridge = static_cast<int>(::if_nametoindex(name));
  return host.bridge > 0 ? 0 : -errno;
}

// Links of the host netns whose name starts with `prefix` (host ends of pods not yet destroyed).
inline int count_links(const char* prefix) {
  struct if_nameindex* all = ::if_nameindex();
  if (!all) return -1;
  int n = 0;
  for (struct if_nameindex* i = all; i->if_index; ++i)
    if (std::strncmp(i->if_name, prefix, std::strlen(prefix)) == 0) ++n;
  ::if_freenameindex(all);
  return n;
}

// Wait (up to `timeout`) for the kernel to finish destroying pods' veths named `prefix`*.
inline bool wait_links_gone(const char* prefix, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (count_links(prefix) > 0) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// Delete the bridge (its remaining ports are released) and close the host's fds.
inline int teardown_bridge(Host& host) {
  int err = 0;
  if (host.bridge > 0) {
    Buffer b{};
    nlmsghdr* nlh = mnl_nlmsg_put_header(b.bytes);
    nlh->nlmsg_type = RTM_DELLINK;
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifi->ifi_index = host.bridge;
    err = request(host.sock, nlh, host.seq++);
    host.bridge = 0;
  }
  if (host.sock >= 0) ::close(host.sock);
  if (host.netns >= 0) ::close(host.netns);
  host.sock = host.netns = -1;
  return err;
}

struct Pod {
  int netns = -1;  // the only reference to the pod's netns once set up
};

struct PodAddress {
  in_addr addr;
  std::uint8_t prefix_len;
  in_addr gateway;
};

// The pod netns and a NETLINK_ROUTE socket inside it, the caller's thread back home. A failed
// switch back leaves the thread in the wrong netns: abort, never run on there.
inline int enter_new_netns(const Host& host, int& netns, int& sock) {
  if (::unshare(CLONE_NEWNET) < 0) return -errno;
  netns = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  int open_errno = errno;
  sock = route_socket();
  int sock_errno = errno;
  if (::setns(host.netns, CLONE_NEWNET) < 0) std::abort();
  if (netns < 0) return -open_errno;
  if (sock < 0) return -sock_errno;
  return 0;
}

inline constexpr int kPodEth0Index = 2;  // see the top of this file

// One tx and one rx queue on a veth end, asked for up front: otherwise the kernel makes a queue per
// CPU and cuts them to one after registering the device, which waits for an RCU grace period.
inline void put_single_queue(nlmsghdr* nlh) {
  mnl_attr_put_u32(nlh, IFLA_NUM_TX_QUEUES, 1);
  mnl_attr_put_u32(nlh, IFLA_NUM_RX_QUEUES, 1);
}

// One pod: netns, veth (host end `host_ifname` on the bridge, up), eth0 addressed, up, default
// route. 0 or -errno; on failure nothing is left but what dies with the closed netns.
// no_ipv6_link_local: eth0 gets no IPv6 link-local address (addr_gen_mode none, one more message
// before link-up), as podns does on IPv4-only networks.
inline int create_pod_network(Host& host, const char* host_ifname, const PodAddress& a, Pod& out,
                              bool no_ipv6_link_local = false, bool single_queue = true) {
  int netns = -1;
  int sock = -1;
  int err = enter_new_netns(host, netns, sock);
  std::uint32_t seq = 1;
  Buffer b;
  if (err == 0) {  // the veth, from the host side
    std::memset(&b, 0, sizeof(b));
    nlmsghdr* nlh = mnl_nlmsg_put_header(b.bytes);
    nlh->nlmsg_type = RTM_NEWLINK;
    nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifi->ifi_flags = ifi->ifi_change = IFF_UP;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, host_ifname);
    mnl_attr_put_u32(nlh, IFLA_MASTER, static_cast<std::uint32_t>(host.bridge));
    if (single_queue) put_single_queue(nlh);
    nlattr* info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
    nlattr* data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    nlattr* peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
    mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg));
    mnl_attr_put_strz(nlh, IFLA_IFNAME, "eth0");
    mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, static_cast<std::uint32_t>(netns));
    if (single_queue) put_single_queue(nlh);
    mnl_attr_nest_end(nlh, peer);
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, info);
    err = request(host.sock, nlh, host.seq++);
  }
  if (err == 0) {  // the address, from inside
    std::memset(&b, 0, sizeof(b));
    nlmsghdr* nlh = mnl_nlmsg_put_header(b.bytes);
    nlh->nlmsg_type = RTM_NEWADDR;
    nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = a.prefix_len;
    ifa->ifa_index = kPodEth0Index;
    mnl_attr_put(nlh, IFA_LOCAL, 4, &a.addr);
    mnl_attr_put(nlh, IFA_ADDRESS, 4, &a.addr);
    if (a.prefix_len <= 30) {  // `brd +`
      in_addr brd{a.addr.s_addr | htonl(0xffffffffu >> a.prefix_len)};
      mnl_attr_put(nlh, IFA_BROADCAST, 4, &brd);
    }
    err = request(sock, nlh, seq++);
  }
  if (err == 0 && no_ipv6_link_local) {
    std::memset(&b, 0, sizeof(b));
    nlmsghdr* nlh = mnl_nlmsg_put_header(b.bytes);
    nlh->nlmsg_type = RTM_NEWLINK;
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifi->ifi_index = kPodEth0Index;
    nlattr* af = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
    nlattr* inet6 = mnl_attr_nest_start(nlh, AF_INET6);
    mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
    mnl_attr_nest_end(nlh, inet6);
    mnl_attr_nest_end(nlh, af);
    err = request(sock, nlh, seq++);
  }
  if (err == 0) {  // up
    std::memset(&b, 0, sizeof(b));
    nlmsghdr* nlh = mnl_nlmsg_put_header(b.bytes);
    nlh->nlmsg_type = RTM_NEWLINK;
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifi->ifi_index = kPodEth0Index;
    ifi->ifi_flags = ifi->ifi_change = IFF_UP;
    err = request(sock, nlh, seq++);
  }
  if (err == 0) {  // default route
    std::memset(&b, 0, sizeof(b));
    nlmsghdr* nlh = mnl_nlmsg_put_header(b.bytes);
    nlh->nlmsg_type = RTM_NEWROUTE;
    nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
    rtm->rtm_family = AF_INET;
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = RTPROT_BOOT;
    rtm->rtm_scope = RT_SCOPE_UNIVERSE;
    rtm->rtm_type = RTN_UNICAST;
    mnl_attr_put(nlh, RTA_GATEWAY, 4, &a.gateway);
    mnl_attr_put_u32(nlh, RTA_OIF, kPodEth0Index);
    err = request(sock, nlh, seq++);
  }
  if (sock >= 0) ::close(sock);  // it holds a reference on the netns too
  if (err < 0) {
    if (netns >= 0) ::close(netns);
    return err;
  }
  out.netns = netns;
  return 0;
}

// Teardown: the last reference goes; the kernel destroys the netns and the veth pair later.
inline void destroy_pod_network(Pod& pod) {
  if (pod.netns >= 0) ::close(pod.netns);
  pod.netns = -1;
}

// The same pod held the way a podns pod is: its net, ipc and uts namespaces pinned by bind mounts
// onto files `<pin_dir>/<type><id>` (pin_dir a shared tmpfs, as /run is), ipc and uts unshared on a
// short-lived thread (unsharing ipc on the caller's thread would also unshare its System V
// semaphore undo list for good), eth0 without an IPv6 link-local address as on an IPv4-only podns
// network. The floor of the kernel objects a pod owns, without podns's state, locks or firewall.
struct PinnedPod {
  Pod net;
  std::string pins[3];  // net, ipc, uts
};

inline bool pin_onto(const std::string& path, const char* source) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0) return false;
  ::close(fd);
  return ::mount(source, path.c_str(), nullptr, MS_BIND, nullptr) == 0;
}

inline int create_pinned_pod(Host& host, const char* host_ifname, const PodAddress& a, const std::string& pin_dir,
                             const std::string& id, PinnedPod& out) {
  out.pins[0] = pin_dir + "/net" + id;
  out.pins[1] = pin_dir + "/ipc" + id;
  out.pins[2] = pin_dir + "/uts" + id;
  bool ok = false;
  std::thread([&] {
    ok = ::unshare(CLONE_NEWIPC | CLONE_NEWUTS) == 0 && pin_onto(out.pins[1], "/proc/thread-self/ns/ipc") &&
         pin_onto(out.pins[2], "/proc/thread-self/ns/uts");
  }).join();
  if (!ok) return -EIO;
  if (int err = create_pod_network(host, host_ifname, a, out.net, /*no_ipv6_link_local=*/true); err < 0) return err;
  std::string source = "/proc/self/fd/" + std::to_string(out.net.netns);
  if (!pin_onto(out.pins[0], source.c_str())) return -errno;
  destroy_pod_network(out.net);  // the pin holds the netns now
  return 0;
}

// As `pod rm` unpins: each pin unmounted (MNT_DETACH) and unlinked.
inline void destroy_pinned_pod(PinnedPod& pod) {
  for (auto& p : pod.pins) {
    if (p.empty()) continue;
    ::umount2(p.c_str(), MNT_DETACH);
    ::unlink(p.c_str());
    p.clear();
  }
  destroy_pod_network(pod.net);
}

}  // namespace rawnet
