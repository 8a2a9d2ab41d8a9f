// The slirp4netns driver: feature probe, command line, ready-fd with a deadline, exit-fd, and the
// published ports through the API socket.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "rootless/drivers.hpp"
#include "podns/make_dirs.hpp"
#include "rootless/helper_process.hpp"
#include "rootless/slirp_api.hpp"
#include "sys/io.hpp"
#include "sys/proc_status.hpp"

namespace podns::rootless::detail {
namespace {

using Clock = std::chrono::steady_clock;

// Run `binary --help` and return what it printed (slirp4netns prints usage on stdout).
Result<std::string> help_text(const std::string& binary) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return fail_errno("pipe2");
  UniqueFd r(p[0]), w(p[1]);
  auto child = spawn_helper(binary, {binary, "--help"}, {{1, w.get()}, {2, w.get()}});
  if (!child) return std::unexpected(child.error());
  w.reset();
  std::string out;
  char buf[4096];
  auto deadline = Clock::now() + std::chrono::seconds(5);
  pollfd pfd = {r.get(), POLLIN, 0};
  while (Clock::now() < deadline) {
    int n = poll(&pfd, 1, 100);
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    ssize_t got = sys::read(r.get(), buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    out.append(buf, static_cast<size_t>(got));
  }
  (void)terminate(child->pidfd.view(), std::chrono::milliseconds(500));
  return out;
}

// Is something (a live slirp4netns) listening on this socket path?
bool socket_in_use(const std::string& path) {
  UniqueFd s(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (!s || !fits_sockaddr_un(path)) return false;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

// CAP_SYS_ADMIN (bit 21) in our effective set, from /proc/self/status. Unreadable or unparseable
// counts as no: the only cost is running slirp4netns without its sandbox.
bool have_cap_sys_admin() {
  auto status = sys::read_proc_file("/proc/self/status");
  if (!status) return false;
  auto caps = sys::status_number<uint64_t>(*status, "CapEff", 16);
  return caps && (*caps & (uint64_t{1} << 21));
}

}  // namespace

Result<SlirpFeatures> probe_slirp4netns(const std::string& binary) {
  static std::mutex mu;
  static std::map<std::string, SlirpFeatures> cache;
  {
    std::lock_guard lock(mu);
    if (auto it = cache.find(binary); it != cache.end()) return it->second;
  }
  auto help = help_text(binary);
  if (!help) return fail_with(help, "probe " + binary + " --help");
  SlirpFeatures f;
  f.sandbox = help->find("--enable-sandbox") != std::string::npos;
  f.seccomp = help->find("--enable-seccomp") != std::string::npos;
  f.netns_type = help->find("--netns-type") != std::string::npos;
  f.userns_path = help->find("--userns-path") != std::string::npos;
  f.disable_host_loopback = help->find("--disable-host-loopback") != std::string::npos;
  f.mtu = help->find("--mtu") != std::string::npos;
  f.may_sandbox = have_cap_sys_admin();
  if (!f.netns_type)
    return fail(Errc::unsupported, binary + " has no --netns-type (slirp4netns >= 0.4 is needed to join a pinned netns)");
  std::lock_guard lock(mu);
  cache[binary] = f;
  return f;
}

std::vector<std::string> slirp4netns_argv(const std::string& binary, const RootlessNetRequest& req,
                                          const SlirpFeatures& features, const std::string& api_socket,
                                          int ready_fd, int exit_fd) {
  std::vector<std::string> argv{binary, "--configure"};
  if (features.mtu) argv.push_back(fmt::format("--mtu={}", req.mtu));
  // Without it 10.0.2.2 reaches every service bound to the host's 127.0.0.1.
  if (!req.allow_host_loopback && features.disable_host_loopback) argv.push_back("--disable-host-loopback");
  // The sandbox unshares a mount namespace and pivots root: it needs CAP_SYS_ADMIN, which podman
  // has inside its rootless user namespace but a plain user on the host does not ("parent
  // failed"). Seccomp needs no privilege.
  if (features.sandbox && features.may_sandbox) argv.push_back("--enable-sandbox");
  if (features.seccomp) argv.push_back("--enable-seccomp");
  argv.push_back(fmt::format("--ready-fd={}", ready_fd));
  if (exit_fd >= 0) argv.push_back(fmt::format("--exit-fd={}", exit_fd));
  argv.push_back("--api-socket");
  argv.push_back(api_socket);
  argv.push_back("--netns-type=path");
  if (!req.userns_path.empty()) argv.push_back("--userns-path=" + req.userns_path);
  argv.push_back(req.netns_path);
  argv.push_back("tap0");
  return argv;
}

Result<RootlessNet> start_slirp4netns(const RootlessNetRequest& req) {
  auto binary = find_tool(req.binary.empty() ? "slirp4netns" : req.binary, "slirp4netns");
  if (!binary) return std::unexpected(binary.error());
  auto features = probe_slirp4netns(*binary);
  if (!features) return std::unexpected(features.error());
  if (!req.userns_path.empty() && !features->userns_path)
    return fail(Errc::unsupported, *binary + " has no --userns-path (needed for a netns owned by a user namespace)");

  HelperFiles files = helper_files(DriverKind::slirp4netns, req.run_dir, req.name);
  if (!fits_sockaddr_un(files.api_socket))
    return fail(Errc::invalid_argument,
                fmt::format("API socket path {} is longer than {} bytes: use a shorter run dir or pod name",
                            files.api_socket, sizeof(sockaddr_un{}.sun_path) - 1));
  if (auto d = make_dirs(req.run_dir, 0700); !d) return std::unexpected(d.error());
  if (socket_in_use(files.api_socket))
    return fail(Errc::already_exists, fmt::format("a slirp4netns already listens on {}", files.api_socket));
  unlink(files.api_socket.c_str());  // stale, from a helper that died

  UniqueFd log(open(files.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600));
  if (!log) return fail_errno("open " + files.log);
  int rp[2], ep[2];
  if (pipe2(rp, O_CLOEXEC) < 0) return fail_errno("pipe2");
  UniqueFd ready_r(rp[0]), ready_w(rp[1]);
  if (pipe2(ep, O_CLOEXEC) < 0) return fail_errno("pipe2");
  UniqueFd exit_r(ep[0]), exit_w(ep[1]);
  if (!req.exit_with_handle) {
    exit_r.reset();
    exit_w.reset();
  }

  constexpr int kReadyFd = 3, kExitFd = 4;
  auto argv = slirp4netns_argv(*binary, req, *features, files.api_socket, kReadyFd, exit_r ? kExitFd : -1);
  std::vector<FdMap> fds{{1, log.get()}, {2, log.get()}, {kReadyFd, ready_w.get()}};
  if (exit_r) fds.push_back({kExitFd, exit_r.get()});
  SpawnOptions spawn_options;
  spawn_options.private_mount_ns = features->sandbox && features->may_sandbox;
  auto child = spawn_helper(*binary, argv, fds, spawn_options);
  if (!child) return std::unexpected(child.error());
  ready_w.reset();
  exit_r.reset();

  RootlessNetRecord rec;
  rec.kind = DriverKind::slirp4netns;
  rec.pid = child->pid;
  rec.api_socket = files.api_socket;
  rec.log_path = files.log;
  rec.netns_path = req.netns_path;
  rec.allow_host_loopback = req.allow_host_loopback;
  // From here on the handle owns the helper: any early return stops it and removes its files.
  auto start = proc_start_time(child->pid);
  rec.start_time = start ? *start : 0;
  RootlessNet net(std::move(rec), std::move(child->pidfd), std::move(exit_w));

  // Ready when slirp4netns writes "1" to the ready fd; dead when the pidfd polls readable first.
  auto deadline = Clock::now() + req.ready_timeout;
  pollfd p[2] = {{ready_r.get(), POLLIN, 0}, {net.pidfd().get(), POLLIN, 0}};
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0)
      return fail(Errc::timed_out, fmt::format("slirp4netns not ready after {} ms (log: {})",
                                               req.ready_timeout.count(), log_tail(files.log)));
    int n = poll(p, 2, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("wait for slirp4netns");
    if (p[0].revents) {
      char c = 0;
      ssize_t got = sys::read(ready_r.get(), &c, 1);
      if (got < 0 && errno == EINTR) continue;
      if (got == 1 && c == '1') break;
      // EOF without "1": it closed the ready fd while failing.
      wait_exit(net.pidfd(), std::chrono::milliseconds(1000));
    } else if (!p[1].revents) {
      continue;
    }
    std::string status = reap(net.pidfd());
    return fail(Errc::plugin_failed, fmt::format("slirp4netns {} at start: {}",
                                                 status.empty() ? "failed" : status, log_tail(files.log)));
  }
  // The start time again, now that it surely exec'd: the value is the same process either way.
  if (auto st = proc_start_time(net.record().pid)) net.record().start_time = *st;

  for (const PortForward& f : req.forwards) {
    auto added = add_forward(net.record(), f);
    if (!added) return fail_with(added, "publish port " + format_port_forward(f));
  }
  return net;
}

}  // namespace podns::rootless::detail
