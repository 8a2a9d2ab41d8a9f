// A snapshot of the host objects a podns test can leak: nsfs mounts, /run/netns entries, network
// interfaces of the host netns, nft rules, child processes and podns/slirp4netns/pasta processes.
#pragma once

#include <set>
#include <string>

namespace podns::test {

struct HostSnapshot {
  std::set<std::string> nsfs_mounts;   // mount points of nsfs mounts in our mount namespace
  std::set<std::string> netns_pins;    // entries of /run/netns
  std::set<std::string> links;         // interfaces of the host netns (veths, bridges, ...)
  std::set<std::string> nft_rules;     // `nft list ruleset`, counters stripped
  std::set<std::string> children;      // "pid comm" of processes whose parent is us
  std::set<std::string> helpers;       // "pid comm" of running podns, podns-pidns, podns-close,
                                       // slirp4netns, pasta, passt anywhere

  static HostSnapshot take();
};

// What `after` has that `before` had not, one line per object; empty when nothing leaked.
std::string describe_leaks(const HostSnapshot& before, const HostSnapshot& after);

}  // namespace podns::test
