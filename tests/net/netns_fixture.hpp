// A throwaway network namespace for real-kernel net tests: pinned on a file in the test's own
// TempDir (never /run/netns), populated with iproute2 through nsenter, unpinned on destruction.
// Links created inside it die with it, so nothing is left on the host. Header-only so that the CLI
// tests (tests/cli) can use it too.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

// What TestNetns needs: root, unshare/nsenter (util-linux) and ip (iproute2).
#define REQUIRE_NETNS_TOOLS()                        \
  PODNS_REQUIRE_ROOT();                              \
  PODNS_REQUIRE_TOOL("unshare", "util-linux");       \
  PODNS_REQUIRE_TOOL("nsenter", "util-linux");       \
  PODNS_REQUIRE_TOOL("ip", "iproute2")

namespace podns::test {

class TestNetns {
 public:
  explicit TestNetns(std::string path) : path_(std::move(path)) {
    int fd = ::open(path_.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (fd >= 0) ::close(fd);
    // unshare(1) with --net=FILE pins the new netns by bind-mounting it onto FILE.
    CommandResult r = run({"unshare", "--net=" + path_, "true"});
    if (r.exit_code != 0) error_ = "unshare --net=" + path_ + ": " + r.err;
    // Quiet by default: with IPv6 on, a link coming up sends ND/MLD packets for seconds, which
    // would make counters move under the tests' feet.
    if (ok()) sysctl("net.ipv6.conf.all.disable_ipv6=1"), sysctl("net.ipv6.conf.default.disable_ipv6=1");
  }
  ~TestNetns() {
    ::umount2(path_.c_str(), MNT_DETACH);
    ::unlink(path_.c_str());
  }
  TestNetns(const TestNetns&) = delete;
  TestNetns& operator=(const TestNetns&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& path() const { return path_; }

  CommandResult exec(std::vector<std::string> argv) const {
    argv.insert(argv.begin(), {"nsenter", "--net=" + path_});
    return run(argv);
  }
  // `ip ARGS...` inside the netns; an empty string when it worked, else its stderr.
  std::string ip(std::vector<std::string> args) const {
    args.insert(args.begin(), "ip");
    CommandResult r = exec(args);
    return r.exit_code == 0 ? std::string() : "ip failed (" + std::to_string(r.exit_code) + "): " + r.err;
  }
  std::string ip_json(std::vector<std::string> args) const {
    args.insert(args.begin(), {"ip", "-j"});
    return exec(args).out;
  }
  void sysctl(const std::string& setting) const { exec({"sysctl", "-q", "-w", setting}); }

  // The MAC of `dev` as ip prints it, empty when unknown.
  std::string mac_of(const std::string& dev) const {
    std::string out = ip_json({"link", "show", "dev", dev});
    auto pos = out.find("\"address\":\"");
    return pos == std::string::npos ? std::string() : out.substr(pos + 11, 17);
  }
  // Wait (up to 3 s) until `dev` is operationally UP. Right after `ip link set up` a veth has no
  // carrier yet and its qdisc is still noop: datagrams sent then vanish without being counted.
  std::string wait_up(const std::string& dev) const {
    for (int i = 0; i < 300; ++i) {
      if (ip_json({"link", "show", "dev", dev}).find("\"operstate\":\"UP\"") != std::string::npos) return {};
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return dev + " never came up";
  }

 private:
  std::string path_;
  std::string error_;
};

// Send `count` UDP datagrams of `payload` bytes from inside the netns at `netns_path` to
// dst:port (an address inside a netns the test created). Returns how many were sent.
inline int send_udp_from(const std::string& netns_path, const std::string& dst, int port, int count,
                         std::size_t payload) {
  int sent = 0;
  std::thread t([&] {
    int ns = ::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0) return;
    int rc = ::setns(ns, CLONE_NEWNET);
    ::close(ns);
    if (rc < 0) return;
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return;
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, dst.c_str(), &to.sin_addr);
    std::string data(payload, 'x');
    for (int i = 0; i < count; ++i)
      if (::sendto(s, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) >= 0) ++sent;
    ::close(s);
  });
  t.join();
  return sent;
}

}  // namespace podns::test
