// The live half of `pod inspect`: what the kernel has now next to what CNI reported, and whether
// the rootless helpers still run. Everything here is best effort: someone may have run
// `ip netns del`, `ip link del` or killed slirp4netns, and inspect must say so, not fail.
#include <net/if.h>

#include <fmt/format.h>

#include "pod/internal.hpp"
#include "podns/net/interfaces.hpp"
#include "podns/pin.hpp"
#include "podns/pod/pod.hpp"
#include "podns/rootless/driver.hpp"

namespace podns::pod {
namespace {

LiveInterface live_of(const net::InterfaceState& itf) {
  LiveInterface l;
  l.present = true;
  l.operstate = std::string(net::to_string(itf.link.operstate));
  l.admin_up = itf.link.is_up();
  l.mtu = itf.link.mtu;
  l.mac = itf.link.mac;
  for (const auto& a : itf.addresses) l.addresses.push_back(a.cidr());
  return l;
}

void add_interfaces(PodInfo& info) {
  auto& live = *info.live;
  if (info.netns_path.empty()) return;
  auto pinned = pin_is_live(info.netns_path);
  if (!pinned) {
    live.error = pinned.error().message();
    return;
  }
  if (!*pinned) {
    live.netns = NetnsLiveness::gone;
    return;
  }
  live.netns = NetnsLiveness::present;
  // One socket inside the netns, two dumps (links, addresses): no setns per interface.
  auto itfs = net::live_interfaces(info.netns_path);
  if (!itfs) {
    live.error = itfs.error().message();
    return;
  }
  for (auto& n : info.networks) {
    if (n.ifname.empty()) continue;  // rootless: the helper's interface is not a CNI one
    n.live = LiveInterface{};
    for (const auto& itf : *itfs) {
      if (itf.link.name == n.ifname) n.live = live_of(itf);
    }
  }
}

void add_helpers(PodInfo& info, const state::PodState& st) {
  for (const auto& h : st.helpers) {
    auto kind = rootless::parse_driver(h.kind);
    if (!kind) continue;  // left out of the info too (pod_info)
    HelperLive hl{*kind, h.pid, false, {}};
    if (h.record.empty()) {
      // An intent: the helper was being started (or a crash left it); nothing to ask.
      hl.log_tail = "not started (intent only)";
    } else if (auto rec = rootless::record_from_json(h.record); !rec) {
      hl.log_tail = rec.error().message();
    } else {
      // helper_status checks the PID's start time: a reused PID never counts as our helper.
      auto status = rootless::helper_status(*rec);
      hl.running = status.running;
      hl.log_tail = status.last_log;
    }
    info.live->helpers.push_back(std::move(hl));
  }
}

}  // namespace

void detail::add_live_state(PodInfo& info, const state::PodState& st) {
  info.live = LiveState{};
  add_interfaces(info);
  add_helpers(info, st);
}

}  // namespace podns::pod
