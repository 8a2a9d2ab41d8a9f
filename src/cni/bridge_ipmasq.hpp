// A workaround for the CNI bridge plugin (containernetworking/plugins <= 1.4): its DEL tears the
// ipMasq rules down only for the addresses it finds on the interface inside the netns, so when the
// netns or the interface is already gone (someone ran `ip netns del` or `ip link del eth0` in it,
// a reboot, a crash before unpin) the per-container NAT chain and its POSTROUTING jump stay
// forever. podns knows the attachment, so it removes them itself: the rules carry the comment
// `name: "<network>" id: "<container id>"`. Not installed.
#pragma once

#include <string>

#include "podns/cni/config.hpp"
#include "podns/error.hpp"

namespace podns::cni {

// Whether the list has a `bridge` plugin with ipMasq on (whose rules a DEL without the netns
// leaves behind).
[[nodiscard]] bool uses_bridge_ipmasq(const NetworkConfigList& net);

// Removes the POSTROUTING jumps commented for (network, container_id) from the nat tables of
// iptables and ip6tables, then the chains they jumped to. Idempotent; a host without iptables is
// no error.
[[nodiscard]] Status remove_leaked_ipmasq(const std::string& network, const std::string& container_id);

}  // namespace podns::cni
