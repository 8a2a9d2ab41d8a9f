// The table as an nft script. The rules depend only on the networks; every forward is an element of
// one of the four maps, so adding a pod never adds a rule. See docs/fw.md for the layout and why.
#include <algorithm>
#include <iterator>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "fw/layout.hpp"
#include "fw/script.hpp"

namespace podns::fw {
namespace {

// "{ 10.89.0.0/24, 10.90.0.0/24 }", or the bare subnet when there is one.
std::string subnet_set(const std::vector<Subnet>& subnets) {
  std::vector<std::string> parts;
  parts.reserve(subnets.size());
  for (const auto& s : subnets) parts.push_back(s.str());
  if (parts.size() == 1) return parts[0];
  return fmt::format("{{ {} }}", fmt::join(parts, ", "));
}

std::string element_text(const CheckedForward& f) {
  std::string key = fmt::format("{} . {}", f.proto->name, f.host_port);
  if (f.map->bound) key = fmt::format("{} . {}", f.host.str(), key);
  return fmt::format("{} : {} . {}", key, f.pod.str(), f.pod_port);
}

void write_maps(std::string& out, const CheckedRuleset& rs) {
  for (const auto& map : layout::kMaps) {
    auto out_it = std::back_inserter(out);
    fmt::format_to(out_it, "\tmap {} {{\n\t\ttype {}\n", map.name, map.type);
    bool first = true;
    for (const auto& f : rs.forwards) {
      if (f.map != &map) continue;
      fmt::format_to(out_it, "{}\t\t\t{}", first ? "\t\telements = {\n" : ",\n", element_text(f));
      first = false;
    }
    if (!first) out += "\n\t\t}\n";
    out += "\t}\n";
  }
}

void write_postrouting(std::string& out, const CheckedRuleset& rs) {
  auto out_it = std::back_inserter(out);
  out +=
      "\tchain postrouting {\n"
      "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
      // Forwards to 127.0.0.1 leave through a bridge with a loopback source (route_localnet):
      // the pod's reply must come back to the host's address instead.
      "\t\tct status dnat ip saddr 127.0.0.0/8 masquerade comment \"forwards from localhost\"\n";
  // Hairpin: a pod reaching a published port through a host address; without the masquerade the
  // target pod would answer the client directly, from an address the client never talked to.
  std::vector<Subnet> all4, all6;
  for (const auto& n : rs.networks) {
    all4.insert(all4.end(), n.v4.begin(), n.v4.end());
    all6.insert(all6.end(), n.v6.begin(), n.v6.end());
  }
  if (!all4.empty())
    fmt::format_to(out_it, "\t\tct status dnat ip saddr {} oifname @{} masquerade comment \"hairpin\"\n",
                   subnet_set(all4), layout::kBridgesSet);
  if (!all6.empty())
    fmt::format_to(out_it, "\t\tct status dnat ip6 saddr {} oifname @{} masquerade comment \"hairpin\"\n",
                   subnet_set(all6), layout::kBridgesSet);
  for (const auto& n : rs.networks) {
    if (n.rules->internal || !n.rules->masquerade) continue;
    if (!n.v4.empty())
      fmt::format_to(out_it, "\t\tip saddr {0} ip daddr != {0} masquerade comment \"network {1}\"\n",
                     subnet_set(n.v4), n.rules->name);
    if (!n.v6.empty())
      fmt::format_to(out_it, "\t\tip6 saddr {0} ip6 daddr != {0} masquerade comment \"network {1}\"\n",
                     subnet_set(n.v6), n.rules->name);
  }
  out += "\t}\n";
}

// The forward hook runs for routed traffic only: pods on one bridge talk at L2 and never get here,
// except with br_netfilter loaded, where bridged packets come through with iif == oif == the
// bridge. Hence every drop below says `!= its own bridge`.
void write_forward(std::string& out, const CheckedRuleset& rs) {
  auto out_it = std::back_inserter(out);
  out +=
      "\tchain forward {\n"
      "\t\ttype filter hook forward priority filter; policy accept;\n"
      "\t\tct state established,related accept\n";
  for (const auto& n : rs.networks) {
    if (!n.rules->internal) continue;
    fmt::format_to(out_it,
                   "\t\tiifname \"{0}\" oifname != \"{0}\" drop comment \"network {1} is internal\"\n"
                   "\t\toifname \"{0}\" iifname != \"{0}\" drop comment \"network {1} is internal\"\n",
                   n.rules->bridge, n.rules->name);
  }
  // Published ports are reachable from other podns networks too (as in podman).
  fmt::format_to(out_it, "\t\tct status dnat oifname @{} accept comment \"published ports\"\n", layout::kBridgesSet);
  for (const auto& n : rs.networks) {
    if (n.rules->internal) continue;
    fmt::format_to(out_it,
                   "\t\tiifname \"{0}\" oifname != \"{0}\" oifname @{1} drop comment \"network {2} is isolated\"\n",
                   n.rules->bridge, layout::kBridgesSet, n.rules->name);
  }
  out += "\t}\n";
}

}  // namespace

Result<CheckedRuleset> check_ruleset(const Ruleset& rs) {
  auto networks = check_networks(rs.networks);
  if (!networks) return fail(networks.error());
  auto forwards = check_forwards(rs.forwards, "forwards", true);
  if (!forwards) return fail(forwards.error());
  return CheckedRuleset{std::move(*networks), std::move(*forwards)};
}

std::string script_text(std::string_view table, const CheckedRuleset& rs) {
  std::string out = fmt::format("add table inet {0}\ndelete table inet {0}\n", table);
  if (rs.networks.empty()) return out;
  auto out_it = std::back_inserter(out);
  fmt::format_to(out_it, "table inet {} {{\n", table);

  std::vector<std::string> bridges;
  for (const auto& n : rs.networks) bridges.push_back(fmt::format("\"{}\"", n.rules->bridge));
  fmt::format_to(out_it, "\tset {} {{\n\t\ttype ifname\n\t\telements = {{ {} }}\n\t}}\n", layout::kBridgesSet,
                 fmt::join(bridges, ", "));
  write_maps(out, rs);

  fmt::format_to(out_it, "\tchain {} {{\n", layout::kDnatChain);
  for (const auto& map : layout::kMaps) fmt::format_to(out_it, "\t\t{}\n", map.dnat_rule);
  out += "\t}\n";
  fmt::format_to(out_it,
                 "\tchain prerouting {{\n"
                 "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
                 "\t\tfib daddr type local jump {0}\n"
                 "\t}}\n"
                 "\tchain output {{\n"
                 "\t\ttype nat hook output priority -100; policy accept;\n"
                 "\t\tfib daddr type local jump {0}\n"
                 "\t}}\n",
                 layout::kDnatChain);
  write_postrouting(out, rs);
  write_forward(out, rs);
  out += "}\n";
  return out;
}

std::string ruleset_text(std::string_view table, const Ruleset& rs) {
  if (auto ok = validate_table_name(table); !ok)
    return fmt::format("# podns: no script: {}\n", ok.error().what());
  auto checked = check_ruleset(rs);
  if (!checked) {
    // A comment only: loading it changes nothing. Newlines stay out of the comment.
    std::string why = checked.error().what();
    std::replace(why.begin(), why.end(), '\n', ' ');
    return fmt::format("# podns: no script for table inet {}: {}\n", table, why);
  }
  return script_text(table, *checked);
}

}  // namespace podns::fw
