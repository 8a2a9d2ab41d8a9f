// Test fixtures for the rootless drivers: a pod-like set of namespaces held by `unshare ... sleep`,
// a TCP server inside it, a server on the host's loopback, and clients on either side. Header-only
// so that tests/rootless_e2e (run as the unprivileged test user) shares it.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "podns/error.hpp"
#include "podns/fd.hpp"
#include "podns/process.hpp"

namespace podns::test {

enum class PodUserns {
  none,         // a netns owned by our own user namespace (root's isolated pod)
  root_only,    // a new userns mapping only us to root in it (unshare -r)
  subordinate,  // us to root plus our /etc/subuid range through newuidmap (unshare -r --map-auto)
};

inline uint64_t ns_inode(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// `unshare [--user ...] --net sleep infinity`: its /proc/PID/ns/{net,user} stand for the pod's
// pinned namespaces. Killed and reaped on destruction.
class NsHolder {
 public:
  explicit NsHolder(PodUserns userns) : userns_(userns) {
    std::vector<std::string> argv{"unshare"};
    if (userns == PodUserns::root_only) argv.insert(argv.end(), {"--user", "--map-root-user"});
    if (userns == PodUserns::subordinate) argv.insert(argv.end(), {"--user", "--map-root-user", "--map-auto"});
    argv.insert(argv.end(), {"--net", "sleep", "infinity"});
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    auto fn = [&]() -> int {
      int devnull = open("/dev/null", O_RDWR);
      dup2(devnull, 0);
      dup2(devnull, 1);
      execvp("unshare", cargv.data());
      return 127;
    };
    auto child = clone_process(CloneOptions{}, fn);
    if (!child) {
      error_ = child.error().message();
      return;
    }
    child_ = std::move(*child);
    // Ready once the netns differs from ours (and, with a userns, the uid map is written).
    uint64_t our_net = ns_inode("/proc/self/ns/net");
    for (int i = 0; i < 400; ++i) {
      uint64_t net = ns_inode(netns_path());
      bool mapped = userns == PodUserns::none || !read_file(proc("uid_map")).empty();
      if (net != 0 && net != our_net && mapped && sleeping()) return;
      if (auto alive = child_.alive(); !alive || !*alive) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    error_ = "unshare did not set up the namespaces";
  }
  ~NsHolder() {
    if (child_) (void)child_.kill_and_wait();
  }
  NsHolder(const NsHolder&) = delete;
  NsHolder& operator=(const NsHolder&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  pid_t pid() const { return child_.pid(); }
  std::string netns_path() const { return proc("ns/net"); }
  std::string userns_path() const { return userns_ == PodUserns::none ? "" : proc("ns/user"); }
  std::string uid_map() const { return read_file(proc("uid_map")); }
  void kill() { (void)child_.kill_and_wait(); }

  // Enter the holder's namespaces (in a forked child only: setns(CLONE_NEWUSER) needs a
  // single-threaded caller).
  bool enter() const {
    if (userns_ != PodUserns::none) {
      UniqueFd u(open(proc("ns/user").c_str(), O_RDONLY | O_CLOEXEC));
      if (!u || setns(u.get(), CLONE_NEWUSER) < 0) return false;
    }
    UniqueFd n(open(proc("ns/net").c_str(), O_RDONLY | O_CLOEXEC));
    return n && setns(n.get(), CLONE_NEWNET) == 0;
  }

 private:
  std::string proc(const std::string& rel) const { return "/proc/" + std::to_string(child_.pid()) + "/" + rel; }
  static std::string read_file(const std::string& path) {
    std::ifstream f(path);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  bool sleeping() const {
    std::ifstream f(proc("comm"));
    std::string comm;
    std::getline(f, comm);
    return comm == "sleep";
  }

  PodUserns userns_;
  ChildProcess child_;
  std::string error_;
};

// Join the netns at `path` (a pin): for a server in a pod made by the CLI.
inline bool enter_netns(const std::string& path) {
  UniqueFd n(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  return n && setns(n.get(), CLONE_NEWNET) == 0;
}

// Listen on addr:port (TCP), return the socket; port 0 picks one (see bound_port()).
inline UniqueFd listen_tcp(const char* addr, uint16_t port) {
  UniqueFd s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, addr, &a.sin_addr);
  if (bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || listen(s.get(), 16) < 0) return UniqueFd();
  return s;
}

inline uint16_t bound_port(FdView s) {
  sockaddr_in a = {};
  socklen_t len = sizeof a;
  getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

// Serve `greeting` to every connection on a listening socket, then read and count until EOF
// and answer with the byte count (so the bench can measure a transfer). Runs in a child.
inline int serve_forever(int listener, const char* greeting) {
  for (;;) {
    int c = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    (void)!write(c, greeting, strlen(greeting));
    shutdown(c, SHUT_WR);
    static char buf[1 << 16];
    while (read(c, buf, sizeof buf) > 0) {
    }
    close(c);
  }
}

// A TCP server in a child process: on the host, inside `holder`'s namespaces, or wherever
// `enter` (run in the child) puts it.
class Server {
 public:
  Server(const NsHolder* holder, const char* addr, uint16_t port, std::string greeting)
      : Server([holder] { return !holder || holder->enter(); }, addr, port, std::move(greeting)) {}
  Server(std::function<bool()> enter, const char* addr, uint16_t port, std::string greeting)
      : greeting_(std::move(greeting)) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return;
    UniqueFd r(p[0]), w(p[1]);
    auto fn = [&]() -> int {
      if (!enter()) return 3;
      UniqueFd l = listen_tcp(addr, port);
      if (!l) return 4;
      uint16_t got = bound_port(l.view());
      (void)!write(w.get(), &got, sizeof got);
      return serve_forever(l.get(), greeting_.c_str());
    };
    auto child = clone_process(CloneOptions{}, fn);
    if (!child) return;
    child_ = std::move(*child);
    w.reset();
    uint16_t got = 0;
    if (read(r.get(), &got, sizeof got) == sizeof got) port_ = got;
  }
  ~Server() {
    if (child_) (void)child_.kill_and_wait();
  }
  bool ok() const { return port_ != 0; }
  uint16_t port() const { return port_; }
  const std::string& greeting() const { return greeting_; }

 private:
  std::string greeting_;
  ChildProcess child_;
  uint16_t port_ = 0;
};

// Connect to addr:port and read what the server says until it shuts its side, retrying until
// the deadline (a forward may take a moment to reach a server). nullopt when nothing came.
inline std::optional<std::string> fetch(const char* addr, uint16_t port,
                                        std::chrono::milliseconds deadline = std::chrono::milliseconds(5000)) {
  auto until = std::chrono::steady_clock::now() + deadline;
  do {
    UniqueFd s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    timeval tv = {2, 0};
    setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, addr, &a.sin_addr);
    if (connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      std::string got;
      char buf[256];
      ssize_t n;
      while ((n = read(s.get(), buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
      if (!got.empty()) return got;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < until);
  return std::nullopt;
}

// fetch() from inside holder's namespaces (a child process); the reply, or nullopt.
inline std::optional<std::string> fetch_from_pod(const NsHolder& holder, const char* addr, uint16_t port,
                                                 std::chrono::milliseconds deadline = std::chrono::milliseconds(3000)) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return std::nullopt;
  UniqueFd r(p[0]), w(p[1]);
  auto fn = [&]() -> int {
    if (!holder.enter()) return 3;
    auto got = fetch(addr, port, deadline);
    if (!got) return 1;
    (void)!write(w.get(), got->data(), got->size());
    return 0;
  };
  auto child = clone_process(CloneOptions{}, fn);
  if (!child) return std::nullopt;
  w.reset();
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = read(r.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  auto rc = child->wait();
  if (!rc || *rc != 0) return std::nullopt;
  return out;
}

// The IPv4 default gateway as the pod sees it (pasta copies the host's), from /proc/net/route
// read inside the pod's netns.
inline std::string pod_gateway(const NsHolder& holder) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return {};
  UniqueFd r(p[0]), w(p[1]);
  auto fn = [&]() -> int {
    if (!holder.enter()) return 3;
    std::ifstream f("/proc/self/net/route");
    std::string line;
    std::getline(f, line);  // header
    while (std::getline(f, line)) {
      char ifname[32];
      unsigned dest = 1, gw = 0;
      if (sscanf(line.c_str(), "%31s %x %x", ifname, &dest, &gw) == 3 && dest == 0 && gw != 0) {
        char text[INET_ADDRSTRLEN];
        in_addr a{gw};
        inet_ntop(AF_INET, &a, text, sizeof text);
        (void)!write(w.get(), text, strlen(text));
        return 0;
      }
    }
    return 1;
  };
  auto child = clone_process(CloneOptions{}, fn);
  if (!child) return {};
  w.reset();
  char buf[64] = {};
  ssize_t n = read(r.get(), buf, sizeof buf - 1);
  (void)child->wait();
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// A free TCP port on 127.0.0.1 (bound then released; good enough for tests on one host).
inline uint16_t free_port() {
  UniqueFd s = listen_tcp("0.0.0.0", 0);
  return s ? bound_port(s.view()) : 0;
}

// Whether a process exists (a zombie counts as gone).
inline bool process_running(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(f, stat)) return false;
  auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

// Live slirp4netns and pasta processes with an argument under `dir`: the helpers of one test's
// pods (pasta shows as passt.avx2 once it re-exec'd itself for the CPU).
inline std::vector<pid_t> rootless_helpers_under(const std::string& dir) {
  auto read_text = [](const std::string& path) {
    std::ifstream f(path);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    std::string pid = e.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string comm = read_text("/proc/" + pid + "/comm");
    if (comm != "slirp4netns\n" && comm.rfind("pasta", 0) != 0 && comm.rfind("passt", 0) != 0) continue;
    if (read_text("/proc/" + pid + "/cmdline").find(dir + "/") == std::string::npos) continue;
    if (process_running(std::stoi(pid))) out.push_back(std::stoi(pid));
  }
  return out;
}

}  // namespace podns::test
