// to_json_text (what `pod ls --json` prints) is byte for byte an array of to_json(pod) dumped with
// indent 2: every member, optional part and escape of both writers is held to the other.
#include <gtest/gtest.h>

#include "podns/pod/pod.hpp"

namespace podns::pod {
namespace {

std::string through_nlohmann(const std::vector<PodInfo>& pods) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& p : pods) a.push_back(to_json(p));
  return a.dump(2);
}

PodInfo plain_pod() {
  PodInfo p;
  p.name = "web";
  p.phase = state::PodPhase::ready;
  p.netns_path = "/run/netns/web";
  p.pins = {{NamespaceType::net, "/run/netns/web"}, {NamespaceType::ipc, "/run/podns/ns/ipc/web"},
            {NamespaceType::uts, "/run/podns/ns/uts/web"}};
  NetworkInfo n;
  n.network = "podns";
  n.ifname = "eth0";
  n.mac = "0a:58:0a:59:00:03";
  n.addresses = {{"10.89.0.5/16", "10.89.0.1", false}, {"fd00::5/64", "", true}};
  n.ports = {{"", 8080, 80, "tcp"}, {"127.0.0.1", 5353, 53, "udp"}};
  n.state = AttachmentState::attached;
  p.networks.push_back(n);
  p.created_at = 1763800000;
  return p;
}

// Everything optional set, and strings that need every kind of escape.
PodInfo full_pod() {
  PodInfo p = plain_pod();
  p.name = "full";
  p.userns_path = "/run/podns/ns/user/full";
  p.userns_mappings = IdMappings{{{0, 100000, 65536}}, {{0, 100000, 65536}}, SetGroups::allow};
  p.helpers = {{rootless::DriverKind::slirp4netns, 4242}, {rootless::DriverKind::pasta, 4343}};
  LiveState live;
  live.netns = NetnsLiveness::present;
  live.error = "read \"eth1\": tab\there, back\\slash, bell\x07, newline\n, é";
  live.helpers = {{rootless::DriverKind::slirp4netns, 4242, false, "line one\nline two\r\n\x01\x1f"},
                   {rootless::DriverKind::pasta, 4343, true, ""}};
  p.live = live;
  p.networks[0].live = LiveInterface{true, "UP", true, 65520, "0a:58:0a:59:00:03", {"10.89.0.5/16", "fe80::1/64"}};
  NetworkInfo gone = p.networks[0];
  gone.network = "backend";
  gone.ifname = "eth1";
  gone.addresses.clear();
  gone.ports.clear();
  gone.live = LiveInterface{};  // CNI reported it; the kernel no longer has it
  p.networks.push_back(gone);
  return p;
}

TEST(JsonText, EmptyListIsAnEmptyArray) { EXPECT_EQ(to_json_text({}), through_nlohmann({})); }

TEST(JsonText, SameBytesAsNlohmannForPlainAndFullPods) {
  std::vector<PodInfo> pods{plain_pod(), full_pod()};
  EXPECT_EQ(to_json_text(pods), through_nlohmann(pods));
}

TEST(JsonText, SameBytesForAPodWithNothing) {
  PodInfo bare;
  bare.name = "bare";
  bare.phase = state::PodPhase::creating;
  std::vector<PodInfo> pods{bare};
  EXPECT_EQ(to_json_text(pods), through_nlohmann(pods));
}

}  // namespace
}  // namespace podns::pod
