// pod stats: native pods from one dump of the host's links, the others inside their netns.
#include "podns/pod/stats.hpp"

#include <algorithm>
#include <unordered_map>

#include <fmt/format.h>

#include "pod/internal.hpp"

namespace podns::pod {
namespace {

bool served_from_host(const state::PodState& st) {
  return !st.attachments.empty() && st.helpers.empty() &&
         std::all_of(st.attachments.begin(), st.attachments.end(), [](const state::AttachmentRecord& a) {
           return a.driver == state::AttachmentDriver::native && !a.host_ifname.empty();
         });
}

// What the pod's end of the veth has seen: the host end's counters, rx and tx swapped.
net::LinkStats swapped(const net::LinkStats& s) {
  return {s.tx_bytes, s.tx_packets, s.tx_errors, s.tx_dropped, s.rx_bytes, s.rx_packets, s.rx_errors, s.rx_dropped};
}

}  // namespace

StatsReader::StatsReader(PodEnv env) : env_(std::move(env)) {}

Result<std::vector<PodStats>> StatsReader::read(const std::string& name) {
  auto store = detail::open_store(env_);
  if (!store) return fail_with(store, "pod stats");
  auto all = store->load_all_summaries();
  if (!all) return fail_with(all, "pod stats");
  std::vector<const state::PodState*> pods;
  for (const auto& st : *all) {
    if (st.pod.kind != state::PodKind::pod) continue;  // a runtime's CNI attachment, not a podns pod
    if (!name.empty() && st.pod.name != name) continue;
    if (st.pod.phase != state::PodPhase::ready) {
      if (!name.empty()) return fail(Errc::busy, fmt::format("pod {} is {}, not ready", name, to_string(st.pod.phase)));
      continue;
    }
    pods.push_back(&st);
  }
  if (!name.empty() && pods.empty()) return fail(Errc::not_found, fmt::format("pod {}: no such pod", name));

  std::unordered_map<std::string, net::Link> host_links;
  if (std::any_of(pods.begin(), pods.end(), [](const auto* st) { return served_from_host(*st); })) {
    if (!host_) {
      auto c = net::open_netlink_client();
      if (!c) return fail_with(c, "pod stats: host links");
      host_ = std::move(*c);
    }
    auto links = host_->links();
    if (!links) return fail_with(links, "pod stats: host links");
    for (auto& l : *links) host_links.emplace(l.name, std::move(l));
  }

  std::vector<PodStats> out;
  std::vector<std::string> per_netns;
  for (const auto* st : pods) {
    PodStats ps{st->pod.name, st->pod.netns_path, {}, {}};
    if (served_from_host(*st)) {
      std::vector<net::InterfaceStats> ifs;
      for (const auto& a : st->attachments) {
        auto it = host_links.find(a.host_ifname);
        if (it == host_links.end()) {
          ps.error = Error(Errc::not_found, fmt::format("stats of pod {}: the host end {} of {} is gone", st->pod.name,
                                                        a.host_ifname, a.ifname));
          break;
        }
        const net::Link& h = it->second;
        ifs.push_back({h.link, a.ifname, "veth", h.operstate, h.stats ? swapped(*h.stats) : net::LinkStats{}});
      }
      if (!ps.error) ps.interfaces = std::move(ifs);
    } else if (st->pod.netns_path.empty()) {
      ps.error = Error(Errc::not_found, fmt::format("stats of pod {}: no network namespace", st->pod.name));
    } else if (auto s = collector_.collect(st->pod.netns_path)) {
      ps.interfaces = std::move(*s);
      per_netns.push_back(st->pod.netns_path);
    } else {
      ps.error = Error(s.error()).context(fmt::format("stats of pod {}", st->pod.name));
      per_netns.push_back(st->pod.netns_path);
    }
    out.push_back(std::move(ps));
  }
  // Pods that went away: close their sockets, so their netns can be freed.
  collector_.retain_only(per_netns);
  return out;
}

}  // namespace podns::pod
