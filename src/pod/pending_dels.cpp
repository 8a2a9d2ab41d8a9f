// CNI DELs still owed (state::PendingDel): kept when an attachment's row is dropped while its DEL
// failed (an ADD whose rollback DEL failed, a forced rm), retried by gc (all of them), by the start
// of every mutating command (a few, best effort) and, for the attachment it is about to ADD again,
// by pod create (it must succeed first). CNI: every ADD eventually gets its DEL; DEL is idempotent.
#include <algorithm>
#include <ctime>

#include <fmt/format.h>

#include "pod/internal.hpp"
#include "cni/bridge_ipmasq.hpp"
#include "podns/json_parse.hpp"
#include "podns/namespace.hpp"

namespace podns::pod {
namespace detail {
namespace {

// A mutating command retries at most this many, so a permanently broken plugin costs each command
// a bounded delay (and, with the retry interval, only one command in a while)...
constexpr size_t kRetriesPerCommand = 3;
// ...and each of its plugin calls gets at most this long there (gc waits the full deadline).
constexpr std::chrono::milliseconds kCommandRetryDeadline = std::chrono::seconds(10);

int64_t now_seconds() { return static_cast<int64_t>(std::time(nullptr)); }

// The inode of the netns at `path`, 0 when there is none (gone, never pinned, not a netns).
uint64_t netns_ino(const std::string& path) {
  if (path.empty()) return 0;
  auto ns = Namespace::open_path(path, NamespaceType::net);
  return ns ? static_cast<uint64_t>(ns->id().ino) : 0;
}

std::string describe(const state::PendingDel& p) {
  return fmt::format("pending CNI DEL of {} on network {} ({}, pod {})", p.container_id, p.network, p.ifname, p.pod);
}


// Runs one pending DEL. Success drops the record; failure keeps it with attempts + 1 and the error,
// which is returned.
Status run_pending_del(state::Store& store, cni::Runtime& runtime, const state::PendingDel& p) {
  const std::string what = describe(p);
  auto attempt = [&]() -> Status {
    auto net = cni::parse_network_list(p.config);
    if (!net) return fail_with(net, "stored network config");
    cni::RuntimeConf rt;
    rt.container_id = p.container_id;
    rt.ifname = p.ifname;
    rt.netns = p.netns_path;
    // A runtime config that does not read back (a hand edit) only costs the DEL its capability args.
    auto args = parse_json(p.runtime_config);
    rt.capability_args = args && args->is_object() ? std::move(*args) : nlohmann::json::object();
    cni::DelOptions opts;
    // The path may hold a newer namespace by now (a pod of the same name, `ip netns add`): the
    // plugins enter it only while it is still the attachment's own.
    opts.without_netns = p.netns_ino == 0 || netns_ino(p.netns_path) != p.netns_ino;
    if (!p.result.empty()) {
      if (auto r = cni::parse_result_text(p.result)) opts.fallback_result = std::move(*r);
    }
    if (auto s = runtime.del(*net, rt, opts); !s) return s;
    // The bridge plugin tears its ipMasq rules down only from inside the netns.
    if (opts.without_netns && cni::uses_bridge_ipmasq(*net)) return cni::remove_leaked_ipmasq(p.network, p.container_id);
    return {};
  };
  if (auto s = attempt(); !s) {
    Error e = Error(s.error()).context(fmt::format("{}, attempt {}", what, p.attempts + 1));
    if (auto n = store.note_pending_del_failure(p.id, s.error().message(), now_seconds()); !n)
      return fail(Error(n.error()).context(what));
    return fail(std::move(e));
  }
  if (auto r = store.remove_pending_del(p.id); !r) return fail(Error(r.error()).context(what));
  return {};
}

cni::Runtime runtime_for_command(const PodEnv& env) {
  PodEnv quick = env;
  quick.plugin_deadline = std::min(env.plugin_deadline, kCommandRetryDeadline);
  return make_runtime(quick);
}

}  // namespace

state::PendingDel pending_del_for(const state::AttachmentRecord& a, const std::string& result,
                                  const std::string& error) {
  state::PendingDel p;
  p.pod = a.pod;
  p.network = a.network;
  p.container_id = a.container_id;
  p.ifname = a.ifname;
  p.netns_path = a.netns_path;
  p.netns_ino = netns_ino(a.netns_path);
  p.config = a.config;
  p.runtime_config = a.runtime_config;
  p.result = result;
  p.attempts = 1;
  p.last_error = error;
  p.last_attempt_at = now_seconds();
  return p;
}

void retry_all_pending_dels(const PodEnv& env, state::Store& store, GcReport& report) {
  auto pending = store.pending_dels();
  if (!pending) {
    report.errors.push_back(Error(pending.error()).context("pending CNI DELs"));
    return;
  }
  if (pending->empty()) return;
  cni::Runtime runtime = make_runtime(env);
  for (const auto& p : *pending) {
    if (auto s = run_pending_del(store, runtime, p); !s) {
      report.errors.push_back(s.error());
      ++report.pending_dels_left;
      continue;
    }
    ++report.pending_dels_done;
    report.cleaned.push_back(describe(p) + ": done");
  }
}

void retry_some_pending_dels(const PodEnv& env, state::Store& store, const std::string& held_pod) {
  auto pending = store.pending_dels();
  if (!pending) return env.warn(Error(pending.error()).context("pending CNI DELs"));
  const int64_t due = now_seconds() - static_cast<int64_t>(env.pending_del_retry_interval.count());
  std::optional<cni::Runtime> runtime;
  size_t tried = 0;
  for (const auto& listed : *pending) {
    if (tried == kRetriesPerCommand) break;
    if (listed.last_attempt_at > due) continue;
    // The pod's lock: no operation on a pod of that name (which may ADD the same attachment) runs
    // meanwhile. Held elsewhere: the record waits for another command or gc.
    state::FileLock lock;
    if (listed.pod != held_pod) {
      auto l = state::lock_pod(env.paths.locks_dir(), listed.pod, std::chrono::milliseconds(0));
      if (!l) continue;
      lock = std::move(*l);
    }
    // Under the lock: another command may have run it since the listing.
    auto p = store.pending_del(listed.id);
    if (p && p->last_attempt_at <= due) {
      ++tried;
      if (!runtime) runtime = runtime_for_command(env);
      // Best effort: the command goes on whatever happens; the record stays for the next try.
      if (auto s = run_pending_del(store, *runtime, *p); !s) env.warn(s.error());
    }
    // A lock file is how gc finds the pins of a pod whose state was lost: none is left for a pod
    // that does not exist.
    if (!lock.held()) continue;
    if (auto owner = store.get_pod(listed.pod); !owner && owner.error().is(Errc::not_found))
      lock.unlink_and_release();
  }
}

Status settle_pending_dels(const PodEnv& env, state::Store& store, const std::string& pod,
                           const std::vector<ResolvedNetwork>& nets) {
  auto pending = store.pending_dels();
  if (!pending) return fail_with(pending, "pending CNI DELs");
  std::optional<cni::Runtime> runtime;
  const std::string id = container_id(pod);
  for (size_t i = 0; i < nets.size(); ++i) {
    if (!nets[i].cni) continue;
    const std::string ifname = fmt::format("eth{}", i);
    for (const auto& p : *pending) {
      if (p.network != nets[i].name || p.container_id != id || p.ifname != ifname) continue;
      if (!runtime) runtime = make_runtime(env);
      // CNI: no second ADD of an attachment without a DEL in between.
      if (auto s = run_pending_del(store, *runtime, p); !s)
        return fail(Error(s.error()).context(fmt::format(
            "network {} as {}: an earlier pod {} still owes this attachment its DEL (fix the plugin, then "
            "podns gc or pod create again)",
            nets[i].name, ifname, pod)));
    }
  }
  return {};
}

}  // namespace detail

Result<std::vector<state::PendingDel>> pending_dels(const PodEnv& env) {
  auto store = detail::open_store(env);
  if (!store) return fail_with(store, "pending CNI DELs");
  auto p = store->pending_dels();
  if (!p) return fail_with(p, "pending CNI DELs");
  return p;
}

}  // namespace podns::pod
