// pod rm, rollback of a failed create and crash recovery: one teardown, newest effect first.
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "pod/internal.hpp"
#include "cni/bridge_ipmasq.hpp"
#include "podns/names.hpp"
#include "podns/json_parse.hpp"
#include "podns/cni/cache.hpp"
#include "podns/net/client.hpp"
#include "podns/net/interfaces.hpp"
#include "podns/pin.hpp"
#include "podns/rootless/driver.hpp"

namespace podns::pod {
namespace detail {
namespace {

// A CNI attachment's interface, deleted by DEL while its netns still exists: the runtime owns that
// netns and may ADD into it again under the same name. A netns that is gone took it along.
// (podns's own pods never need this: unpinning the netns destroys the veth in a batch later.)
Status delete_runtime_interface(const std::string& netns_path, const std::string& ifname) {
  const auto doing = fmt::format("delete {} in {}", ifname, netns_path);
  auto live = pin_is_live(netns_path);
  if (!live || !*live) return {};
  auto client = net::open_netlink_client_in(netns_path);
  if (!client) {
    // Gone between the look and the open.
    if (auto again = pin_is_live(netns_path); again && !*again) return {};
    return fail_with(client, doing);
  }
  auto link = (*client)->link(ifname);
  if (!link) return link.error().is(Errc::not_found) ? Status{} : fail_with(link, doing);
  if (link->kind != "veth") return {};  // not the one the driver made: someone else's
  if (auto s = (*client)->delete_link(link->index); !s && !s.error().is(Errc::not_found)) return fail_with(s, doing);
  return {};
}


}  // namespace

Status teardown(const PodEnv& env, state::Store& store, const state::PodState& st, bool force) {
  const std::string& name = st.pod.name;
  std::vector<Error> errors;
  if (st.pod.phase != state::PodPhase::removing) {
    if (auto s = store.set_pod_phase(name, state::PodPhase::removing); !s) return s;
  }
  kill_point("rm.removing");

  for (const auto& h : st.helpers) {
    if (!h.record.empty()) {
      auto rec = rootless::record_from_json(h.record);
      if (!rec) {
        errors.push_back(Error(rec.error()).context(fmt::format("stop {}", h.kind)));
        continue;
      }
      // stop() checks the start time first: a PID reused by another process is never signalled.
      if (auto s = rootless::stop(*rec); !s) {
        errors.push_back(Error(s.error()).context(fmt::format("stop {} (pid {})", h.kind, h.pid)));
        continue;
      }
    } else {
      // An intent without a record: the helper may have started before the crash, named nowhere
      // but in its command line (the pod's socket or pid file). gc finds any other such leftover.
      auto kind = rootless::parse_driver(h.kind);
      Status s = kind ? rootless::stop_unrecorded(*kind, env.paths.run_dir + "/rootless", name)
                      : Status(fail(kind.error()));
      if (!s) {
        errors.push_back(Error(s.error()).context(fmt::format("stop {}", h.kind)));
        continue;
      }
    }
    if (auto s = store.remove_helper(name, h.kind); !s) errors.push_back(s.error());
  }

  bool del_failed = false;
  bool netns_gone = false;
  if (!st.pod.netns_path.empty()) {
    auto live = pin_is_live(st.pod.netns_path);
    netns_gone = live && !*live;
  }
  // The interfaces still in the netns: one whose interface was deleted behind our back (`ip link
  // del eth0` inside it) leaks the bridge plugin's ipMasq rules just like a deleted netns does.
  std::set<std::string> present;
  bool present_known = false;
  const bool any_cni = std::any_of(st.attachments.begin(), st.attachments.end(), [](const auto& a) {
    return a.driver == state::AttachmentDriver::cni;
  });
  if (!netns_gone && any_cni && !st.pod.netns_path.empty()) {
    if (auto itfs = net::live_interfaces(st.pod.netns_path)) {
      present_known = true;
      for (const auto& i : *itfs) present.insert(i.link.name);
    }
  }
  // Rows whose effects are undone, deleted together at the end (with the pod's when all went
  // well): a crash before that redoes idempotent steps (forwards removed again, a CNI DEL again, an
  // absent pin), one transaction instead of one per row.
  std::vector<int> detached;
  std::vector<std::string> unpinned;
  // Forced: the CNI DELs that failed. Their rows go with the pod, and these records of the DELs
  // still owed come in the same transaction (gc and later commands retry them).
  std::vector<state::PendingDel> owed;
  if (!st.attachments.empty()) {
    std::optional<cni::Runtime> runtime;
    LazyHostPlane host(env);
    for (auto it = st.attachments.rbegin(); it != st.attachments.rend(); ++it) {
      const auto& a = *it;
      if (a.driver == state::AttachmentDriver::native) {
        // The elements and the lease go; the veth goes with the netns when the pins do.
        auto plane = host.get();
        Status s = plane ? network::detach(store, **plane, a, a.index == 0 ? std::span(st.ports)
                                                                             : std::span<const state::PortMapping>())
                         : Status(fail(plane.error()));
        if (s && st.pod.kind == state::PodKind::cni) s = delete_runtime_interface(st.pod.netns_path, a.ifname);
        if (!s) {
          errors.push_back(Error(s.error()).context(fmt::format("detach network {} ({})", a.network, a.ifname)));
          del_failed = true;
          continue;
        }
        kill_point("rm.detached");
        detached.push_back(a.index);
        continue;
      }
      if (!runtime) runtime = make_runtime(env);
      auto doing = fmt::format("DEL network {} ({})", a.network, a.ifname);
      // The conflist stored at ADD time: DEL works after the config file was edited or deleted.
      auto net = cni::parse_network_list(a.config);
      if (!net) {
        errors.push_back(Error(net.error()).context(doing));
        del_failed = true;
        continue;
      }
      cni::RuntimeConf rt;
      rt.container_id = a.container_id;
      rt.netns = a.netns_path;
      rt.ifname = a.ifname;
      auto caps = parse_json(a.runtime_config);
      rt.capability_args = caps && caps->is_object() ? std::move(*caps) : nlohmann::json::object();
      if (auto s = runtime->del(*net, rt); !s) {
        del_failed = true;
        if (!force) {
          errors.push_back(Error(s.error()).context(doing));
          continue;
        }
        errors.push_back(Error(s.error()).context(doing + " (kept as a pending DEL: podns gc retries it)"));
        // Read now, while the pins still hold the netns: a retry enters it only if it is still this one.
        owed.push_back(pending_del_for(a, a.result, s.error().message()));
        continue;
      }
      kill_point("rm.deleted");
      bool interface_gone = netns_gone || (present_known && !present.count(a.ifname));
      if (interface_gone && cni::uses_bridge_ipmasq(*net)) {
        if (auto m = cni::remove_leaked_ipmasq(a.network, a.container_id); !m) env.warn(m.error());
      }
      detached.push_back(a.index);
    }
  }

  // Keep the netns while a DEL still has to be retried: the plugins clean up inside it.
  if (!del_failed || force) {
    // user last: it owns the others.
    auto pins = st.pins;
    std::stable_sort(pins.begin(), pins.end(), [](const auto& a, const auto& b) {
      return (a.type == "user") < (b.type == "user");
    });
    for (const auto& p : pins) {
      auto type = parse_namespace_type(p.type);
      if (!type) {
        errors.push_back(Error(type.error()).context(fmt::format("unpin {}", p.path)));
        continue;
      }
      if (auto s = remove_pin(p.path, pin_dir(env.paths, *type)); !s) {
        errors.push_back(Error(s.error()).context(fmt::format("unpin {}", p.path)));
        continue;
      }
      kill_point("rm.unpinned");
      unpinned.push_back(p.type);
    }
  }

  if (!errors.empty() && !force) {
    auto forget = store.transaction([&]() -> Status {
      for (int index : detached)
        if (auto s = store.remove_attachment(name, index); !s) return s;
      for (const auto& type : unpinned)
        if (auto s = store.remove_pin(name, type); !s) return s;
      return {};
    });
    if (!forget) errors.push_back(forget.error());
    Error first = errors.front();
    for (size_t i = 1; i < errors.size(); ++i) env.warn(errors[i]);
    return fail(first.context(fmt::format("remove pod {} (state kept; run pod rm again, or pod rm --force)", name)));
  }
  for (const auto& e : errors) env.warn(Error(e).context(fmt::format("remove pod {} (forced)", name)));
  auto dropped = store.transaction([&]() -> Status {
    for (const auto& p : owed)
      if (auto s = store.add_pending_del(p); !s) return s;
    return store.delete_pod(name);
  });
  if (!dropped) return dropped;
  // The pending DEL is now the one place that owes it, with the cached result in it: gc's sweep of
  // cache entries without a pod must not DEL it a second time. Removed only after the commit, so
  // no crash loses the result; one left behind is skipped by that sweep while its DEL is pending.
  cni::ResultCache cache(env.paths.cni_cache_dir);
  for (const auto& p : owed) (void)cache.remove(p.network, p.container_id, p.ifname);
  return {};
}

void recover_crashed(const PodEnv& env, state::Store& store, std::vector<std::string>* cleaned,
                     std::vector<Error>* errors) {
  auto pods = store.list_unfinished();
  if (!pods) {
    if (errors) errors->push_back(pods.error());
    else env.warn(pods.error());
    return;
  }
  for (const auto& p : *pods) {
    // Held: a live operation is on it (not a crash). Free: its operation died; roll it back.
    auto lock = state::lock_pod(env.paths.locks_dir(), p.name, std::chrono::milliseconds(0));
    if (!lock) continue;
    auto st = store.load(p.name);
    if (!st) {
      // Removed meanwhile, its lock file with it: ours recreated the file, which must go again.
      if (st.error().is(Errc::not_found)) lock->unlink_and_release();
      continue;
    }
    // Listed as unfinished, but its operation may have finished (and let go of the lock) between
    // the listing and our lock: only a pod still unfinished under its lock was really interrupted.
    if (st->pod.phase == state::PodPhase::ready) continue;
    auto what = fmt::format("pod {}: {} interrupted, rolled back", p.name,
                            p.phase == state::PodPhase::creating ? "create" : "rm");
    if (auto s = teardown(env, store, *st, /*force=*/false); !s) {
      Error e = Error(s.error()).context(fmt::format("recover pod {}", p.name));
      if (errors) errors->push_back(e);
      else env.warn(e);
      continue;
    }
    lock->unlink_and_release();
    if (cleaned) cleaned->push_back(what);
  }
}

}  // namespace detail

Status remove(const PodEnv& env, const std::string& name, const RemoveOptions& options) {
  auto doing = fmt::format("remove pod {}", name);
  if (auto s = validate_name(name); !s) return fail_with(s, doing);
  auto locks = detail::lock_for_operation(env, name);
  if (!locks) return fail_with(locks, doing);
  auto store = detail::open_store(env);
  if (!store) return fail_with(store, doing);
  detail::reconcile_boot(env, *store);
  detail::recover_crashed(env, *store);
  detail::retry_some_pending_dels(env, *store, name);
  auto st = store->load(name);
  if (!st) {
    if (st.error().is(Errc::not_found)) {
      locks->pod.unlink_and_release();
      if (options.force) return {};
      return fail(Errc::not_found, fmt::format("{}: no such pod", doing));
    }
    return fail_with(st, doing);
  }
  if (auto s = detail::teardown(env, *store, *st, options.force); !s) return s;
  locks->pod.unlink_and_release();
  return {};
}

}  // namespace podns::pod
