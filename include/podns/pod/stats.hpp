// Interface counters of pods, for `podns pod stats` and any monitoring loop.
//
// A pod whose interfaces all come from native networks is read from the HOST: the host end of its
// veth carries the same counters with rx and tx swapped, so one RTM_GETLINK dump of the host
// serves every such pod (1000 pods: one dump, no socket per netns). Other pods (CNI attachments,
// rootless helpers, whose tap or veth ends are not podns's to know) are read inside their netns
// through a net::StatsCollector, one socket per netns kept open across rounds. The host view
// shows only the interfaces podns attached: an interface someone added inside the pod later is
// seen only by the per-netns path.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "podns/error.hpp"
#include "podns/net/client.hpp"
#include "podns/net/stats.hpp"
#include "podns/pod/pod.hpp"

namespace podns::pod {

struct PodStats {
  std::string pod;
  std::string netns;
  std::optional<std::vector<net::InterfaceStats>> interfaces;  // in attachment (or ifindex) order
  std::optional<Error> error;                                 // why they could not be read
};

class StatsReader {
 public:
  explicit StatsReader(PodEnv env);
  // Every ready pod ("" ) or the one named: Errc::not_found for an unknown pod, Errc::busy for one
  // that is not ready. A pod whose counters cannot be read is a row with an error, not a failure.
  [[nodiscard]] Result<std::vector<PodStats>> read(const std::string& name = "");

 private:
  PodEnv env_;
  net::StatsCollector collector_;
  std::unique_ptr<net::Client> host_;
};

}  // namespace podns::pod
