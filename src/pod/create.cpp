// pod create: validate and resolve everything first, then take the locks and record the pod, then
// each side effect between an intent row and its commit; roll back on any failure.
#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <optional>
#include <cstdio>
#include <ctime>

#include <fmt/format.h>

#include "pod/internal.hpp"
#include "pod/userns_map.hpp"
#include "podns/pin.hpp"
#include "podns/rootless/driver.hpp"
#include "podns/run_in_ns.hpp"
#include "podns/userns.hpp"
#include "podns/pod/userns_ids.hpp"
#include "podns/json_dump.hpp"

namespace podns::pod {
namespace {

using detail::kill_point;

// A pod sandbox shares net, ipc and uts among its containers, as a Kubernetes pod does.
constexpr std::array kPodNamespaces = {NamespaceType::net, NamespaceType::ipc, NamespaceType::uts};

nlohmann::json capability_args(const CreateOptions& o, bool first) {
  nlohmann::json caps = nlohmann::json::object();
  if (!first) return caps;
  if (!o.ports.empty()) {
    nlohmann::json pm = nlohmann::json::array();
    for (const auto& p : o.ports) {
      // portmap takes single ports: a range is one mapping per port.
      for (int i = 0; i < p.range; ++i) {
        nlohmann::json m = {
            {"hostPort", p.host_port + i}, {"containerPort", p.container_port + i}, {"protocol", p.protocol}};
        if (!p.host_ip.empty()) m["hostIP"] = p.host_ip;
        pm.push_back(std::move(m));
      }
    }
    caps["portMappings"] = std::move(pm);
  }
  if (!o.ip.empty()) caps["ips"] = nlohmann::json::array({o.ip});
  if (!o.mac.empty()) caps["mac"] = o.mac;
  return caps;
}

// A sysctl naming one of the interfaces the pod's networks will create (net.ipv4.conf.eth0.*,
// net.ipv6.neigh.eth1.*) can only be written once that interface exists, after the attach; every
// other one is written when the namespaces are created, before any plugin runs, so that
// net.ipv4.conf.default.* also applies to the interfaces CNI creates.
bool names_pod_interface(const std::string& key, size_t networks) {
  size_t start = 0;
  for (;;) {
    size_t end = key.find_first_of("./", start);
    std::string_view part = std::string_view(key).substr(start, end == std::string::npos ? end : end - start);
    for (size_t i = 0; i < networks; ++i) {
      if (part == fmt::format("eth{}", i)) return true;
    }
    if (end == std::string::npos) return false;
    start = end + 1;
  }
}

// A new netns has only `lo`, and down: containers expect 127.0.0.1 to work (podman and
// containerd bring it up too, through the CNI loopback plugin).
Status bring_up_loopback(const std::string& netns_path) {
  return run_in_namespace_path(netns_path, NamespaceType::net, []() -> Status {
    UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock) return fail_errno("socket");
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, IFNAMSIZ, "lo");
    if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) != 0) return fail_errno("get flags of lo");
    ifr.ifr_flags |= IFF_UP;
    if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) != 0) return fail_errno("bring up lo");
    return {};
  });
}

// Intents first: if we die between a pin and its commit, recovery knows the path to unpin. They go
// in the transaction that records the pod, one commit for both (a commit per step was a tenth of a
// native pod's create).
Status record_pin_intents(const PodEnv& env, state::Store& store, const CreateOptions& o) {
  if (!o.userns.empty()) {
    if (auto s = store.record_pin_intent(o.name, "user", pin_path(env.paths, NamespaceType::user, o.name)); !s) return s;
  }
  for (auto t : kPodNamespaces) {
    if (auto s = store.record_pin_intent(o.name, std::string(to_string(t)), pin_path(env.paths, t, o.name)); !s)
      return s;
  }
  return {};
}

struct Creator {
  const PodEnv& env;
  state::Store& store;
  const CreateOptions& o;
  const std::vector<detail::ResolvedNetwork>& nets;
  const std::vector<state::PortMapping>& ports;
  const std::optional<IdMappings>& maps;
  detail::LazyHostPlane host{env};

  // The sysctls written at creation and those written after the attach (names_pod_interface).
  std::vector<Sysctl> early_sysctls() const {
    std::vector<Sysctl> out;
    for (const auto& [k, v] : o.sysctls)
      if (!names_pod_interface(k, nets.size())) out.push_back({k, v});
    return out;
  }
  std::vector<Sysctl> late_sysctls() const {
    std::vector<Sysctl> out;
    for (const auto& [k, v] : o.sysctls)
      if (names_pod_interface(k, nets.size())) out.push_back({k, v});
    return out;
  }

  Status pin_namespaces() {
    std::string userns_path;
    std::vector<PinnedNamespace> pinned;
    if (!o.userns.empty()) {
      // The user namespace first, and the pod's namespaces created inside it, so they are owned by
      // it (containerd PR #10607): a runtime joining both never gets "failed to setns into net
      // namespace", and it can mount sysfs. The ns layer does it in a single-threaded helper (a
      // threaded process cannot unshare a user namespace), checks the helper through its pidfd
      // before pinning and writes the sysctls inside the new namespaces before anything joins them.
      UsernsSetRequest req;
      req.paths = env.paths;
      req.name = o.name;
      req.types = {NamespaceType::user};
      req.types.insert(req.types.end(), kPodNamespaces.begin(), kPodNamespaces.end());
      req.idmaps = *maps;
      req.sysctls = early_sysctls();
      auto set = create_userns_set(req);
      if (!set) return fail_with(set, "pin namespaces");
      pinned = std::move(set->pins);
    } else {
      auto r = create_pinned(env.paths, kPodNamespaces, o.name);
      if (!r) return fail_with(r, "pin namespaces");
      pinned = std::move(*r);
    }
    kill_point("create.pinned");
    auto committed = store.transaction([&]() -> Status {
      std::string netns_path;
      for (const auto& p : pinned) {
        if (auto s = store.commit_pin(o.name, std::string(to_string(p.type))); !s) return s;
        if (p.type == NamespaceType::net) netns_path = p.path;
        if (p.type == NamespaceType::user) userns_path = p.path;
      }
      return store.set_pod_paths(o.name, netns_path, userns_path);
    });
    if (!committed) return committed;
    // Committed first, so a failing sysctl is rolled back like any other step.
    if (o.userns.empty()) {
      if (auto s = write_sysctls(pinned, early_sysctls()); !s) return s;
    }
    return {};
  }

  // The rollback DEL of a failed ADD failed too: the attachment may be half there and still needs
  // its DEL. Its row goes and a pending DEL (retried by gc and later commands) comes in one
  // transaction, so a crash leaves one or the other. Should that transaction fail, the intent row
  // stays, and the teardown that follows DELs it like any other.
  void keep_pending_del(const state::AttachmentRecord& a, const cni::AddRollback& rollback, const std::string& doing) {
    std::string prev;
    if (rollback.prev_result) {
      if (auto j = rollback.prev_result->to_json()) prev = json_dump(*j);
    }
    std::string error;
    for (const auto& e : rollback.errors) error += (error.empty() ? "" : "; ") + e.message();
    auto pending = detail::pending_del_for(a, prev, error);
    auto kept = store.transaction([&]() -> Status {
      if (auto s = store.remove_attachment(a.pod, a.index); !s) return s;
      return store.add_pending_del(pending);
    });
    if (!kept) return env.warn(Error(kept.error()).context(doing + ": keep its failed DEL for a retry"));
    kill_point("create.pending-del");
    env.warn(Error(Errc::plugin_failed, doing + ": the DEL of its rollback failed; kept as a pending DEL that "
                                                "podns gc (and the next pod create or rm) retries"));
  }

  Status attach_networks(const std::string& netns_path) {
    std::optional<cni::Runtime> runtime;
    std::optional<Namespace> netns;
    for (size_t i = 0; i < nets.size(); ++i) {
      const auto& net = nets[i];
      const std::string ifname = fmt::format("eth{}", i);
      if (net.native) {
        if (!netns) {
          auto ns = Namespace::open_path(netns_path, NamespaceType::net);
          if (!ns) return fail_with(ns, "open the pod's netns");
          netns = std::move(*ns);
        }
        auto plane = host.get();
        if (!plane) return fail(plane.error());
        network::AttachRequest req;
        req.pod = o.name;
        req.container_id = container_id(o.name);
        req.index = static_cast<int>(i);
        req.ifname = ifname;
        req.netns_path = netns_path;
        req.netns = netns->fd();
        if (i == 0 && !o.ip.empty()) {
          auto ip = network::IpAddr::parse(o.ip);
          if (!ip) return fail_with(ip, "--ip");
          req.ips = {*ip};
        }
        if (i == 0) req.mac = o.mac;
        req.default_route = i == 0;
        if (i == 0) req.ports = ports;
        if (auto a = network::attach(store, **plane, *net.native, req); !a) return fail(a.error());
        continue;
      }
      if (!runtime) runtime = detail::make_runtime(env);
      cni::RuntimeConf rt;
      rt.container_id = container_id(o.name);
      rt.netns = netns_path;
      rt.ifname = ifname;
      rt.capability_args = capability_args(o, i == 0);
      auto doing = fmt::format("attach network {} as {}", net.name, rt.ifname);
      state::AttachmentRecord a{o.name, static_cast<int>(i), net.name, rt.ifname, rt.container_id, netns_path,
                                net.cni->bytes, json_dump(rt.capability_args), "", state::RowState::intent};
      if (auto s = store.record_attachment_intent(a); !s) return fail_with(s, doing);
      kill_point("create.attach-intent");
      cni::AddRollback rollback;
      auto result = runtime->add(*net.cni, rt, &rollback);
      if (!result) {
        if (!rollback.failed) {
          // Runtime::add has already DELeted the plugins that ran (CNI: every ADD gets a DEL); a
          // second DEL from our rollback could only fail again on a config the plugin rejects.
          (void)store.remove_attachment(o.name, static_cast<int>(i));
          return fail_with(result, doing);
        }
        keep_pending_del(a, rollback, doing);
        return fail_with(result, doing);
      }
      kill_point("create.attached");
      auto json = result->to_json();
      if (!json) return fail_with(json, doing);
      if (auto s = store.commit_attachment(o.name, static_cast<int>(i), json_dump(*json)); !s) return fail_with(s, doing);
    }
    return {};
  }

  Status start_rootless(const std::string& netns_path, const std::string& userns_path) {
    auto kind = rootless::parse_driver(o.rootless_net);
    if (!kind) return fail(kind.error());
    rootless::RootlessNetRequest req;
    req.kind = *kind;
    req.name = o.name;
    req.netns_path = netns_path;
    req.userns_path = userns_path;
    req.run_dir = env.paths.run_dir + "/rootless";
    req.exit_with_handle = false;  // its life is the pod's, recorded in the state
    for (const auto& p : o.ports) {
      if (p.protocol == "sctp")
        return fail(Errc::unsupported, fmt::format("{}: sctp ports are not supported", o.rootless_net));
      for (int i = 0; i < p.range; ++i) {
        rootless::PortForward f;
        f.host_ip = p.host_ip;
        f.host_port = static_cast<uint16_t>(p.host_port + i);
        f.container_port = static_cast<uint16_t>(p.container_port + i);
        f.proto = p.protocol == "udp" ? rootless::Proto::udp : rootless::Proto::tcp;
        req.forwards.push_back(f);
      }
    }
    if (auto s = store.record_helper_intent(o.name, o.rootless_net); !s) return s;
    kill_point("create.helper-intent");
    auto net = rootless::start_rootless_net(req);
    if (!net) return fail_with(net, fmt::format("start {}", o.rootless_net));
    rootless::RootlessNetRecord rec = net->detach();
    kill_point("create.helper-started");
    if (auto s = store.commit_helper(o.name, o.rootless_net, rec.pid, rec.start_time, rootless::record_to_json(rec));
        !s) {
      (void)rootless::stop(rec);
      return s;
    }
    return {};
  }

  Status run() {
    if (auto s = pin_namespaces(); !s) return s;
    auto pod = store.get_pod(o.name);
    if (!pod) return fail(pod.error());
    if (auto s = bring_up_loopback(pod->netns_path); !s) return fail_with(s, "pod netns");
    if (!o.rootless_net.empty()) {
      if (auto s = start_rootless(pod->netns_path, pod->userns_path); !s) return s;
    } else {
      if (auto s = attach_networks(pod->netns_path); !s) return s;
    }
    if (auto late = late_sysctls(); !late.empty()) {
      if (auto s = write_sysctls({{.type = NamespaceType::net, .path = pod->netns_path}}, late); !s) return s;
    }
    kill_point("create.before-ready");
    if (auto s = store.set_pod_phase(o.name, state::PodPhase::ready); !s) return s;
    kill_point("create.ready");
    return {};
  }
};

}  // namespace

Result<PodInfo> create(const PodEnv& env, CreateOptions o) {
  if (auto s = validate(o, env.default_network.name); !s) return fail(s.error());
  auto doing = fmt::format("create pod {}", o.name);
  auto store = detail::open_store(env);
  if (!store) return fail_with(store, doing);
  // Everything that can be checked without side effects is checked before the first one: unknown
  // networks, missing plugins, unreadable configs.
  std::vector<detail::ResolvedNetwork> nets;
  for (const auto& name : o.networks) {
    auto net = detail::resolve_network(env, *store, name);
    if (!net) return fail_with(net, doing);
    nets.push_back(std::move(*net));
  }
  // A static address outside every subnet of a native first network: refused before anything.
  if (!o.ip.empty() && !nets.empty() && nets[0].native) {
    auto ip = network::IpAddr::parse(o.ip);
    if (!ip) return fail_with(ip, doing + ": --ip");
    if (!nets[0].native->contains(*ip))
      return fail(Errc::invalid_argument,
                  fmt::format("{}: --ip {} is in no subnet of network {}", doing, o.ip, nets[0].name));
  }
  auto locks = detail::lock_for_operation(env, o.name);
  if (!locks) return fail_with(locks, doing);
  detail::reconcile_boot(env, *store);
  detail::recover_crashed(env, *store);
  detail::retry_some_pending_dels(env, *store, o.name);
  if (auto s = detail::settle_pending_dels(env, *store, o.name, nets); !s) {
    if (auto same = store->get_pod(o.name); !same && same.error().is(Errc::not_found))
      locks->pod.unlink_and_release();
    return fail_with(s, doing);
  }

  state::PodRecord rec{o.name, state::PodPhase::creating, "", "", "", 0};
  std::vector<state::PortMapping> ports;
  for (const auto& p : o.ports)
    ports.push_back({o.name, p.host_ip, p.host_port, p.container_port, p.protocol, p.range});
  std::optional<IdMappings> maps;
  // `--userns auto` holds the allocator's lock until this pod's row (and its ids) is committed: no
  // other pod create or `ns add --map auto` can pick the same ids before they are recorded.
  std::optional<IdReservation> reservation;
  if (o.userns == "auto") {
    auto r = reserve_auto_idmappings(env, &*store);
    if (!r) return fail_with(r, doing + ": --userns auto");
    maps = r->maps();
    reservation = std::move(*r);
  } else if (!o.userns.empty()) {
    auto m = detail::explicit_userns_mappings(o.userns);
    if (!m) return fail_with(m, doing);
    maps = std::move(*m);
  }
  auto recorded = store->transaction([&]() -> Status {
    nlohmann::json spec = to_json(o);
    if (maps) spec["idMappings"] = detail::mappings_to_json(*maps);
    rec.spec = json_dump(spec);
    if (auto s = store->insert_pod(rec, ports); !s) return s;
    return record_pin_intents(env, *store, o);
  });
  reservation.reset();
  if (auto s = recorded; !s) {
    if (s.error().is(Errc::already_exists) && store->get_pod(o.name))
      return fail(Errc::already_exists, doing);
    return fail_with(s, doing);
  }
  kill_point("create.recorded");

  Creator creator{env, *store, o, nets, ports, maps};
  if (auto s = creator.run(); !s) {
    Error first = s.error();
    auto st = store->load(o.name);
    if (!st) {
      env.warn(Error(st.error()).context(fmt::format("roll back pod {}", o.name)));
    } else if (auto r = detail::teardown(env, *store, *st, /*force=*/false); !r) {
      env.warn(Error(r.error()).context(fmt::format("roll back pod {} (podns gc retries it)", o.name)));
    } else {
      locks->pod.unlink_and_release();
    }
    return fail(first.context(doing));
  }
  auto st = store->load(o.name);
  if (!st) return fail_with(st, doing);
  return detail::pod_info(*st);
}

}  // namespace podns::pod
