// The pasta driver (passt in namespace mode): command line with the forwards fixed at start,
// readiness from its pid file, and no exit fd: pasta quits by itself when the pinned netns file
// it was pointed at is removed (it watches the pin's directory).
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <optional>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "rootless/drivers.hpp"
#include "rootless/helper_process.hpp"
#include "podns/make_dirs.hpp"
#include "podns/parse_int.hpp"
#include "podns/read_file.hpp"

namespace podns::rootless::detail {
namespace {

using Clock = std::chrono::steady_clock;

// pasta's -t/-u SPEC for one forward: "[ADDR/]HOSTPORT:CTRPORT".
std::string pasta_spec(const PortForward& f) {
  std::string addr = f.host_ip.empty() ? "" : f.host_ip + "/";
  return fmt::format("{}{}:{}", addr, f.host_port, f.container_port);
}

// The PID pasta wrote to its pid file, 0 while it has not. Anything but one positive decimal
// number (missing, empty, half-written, garbage) is no PID: the readiness poll keeps waiting and
// a leftover file is replaced.
pid_t read_pid_file(const std::string& path) {
  auto text = read_regular_file(path, 64, Errc::corrupt);
  if (!text) return 0;
  auto pid = parse_int<pid_t>(trim_blanks(*text));
  return pid && *pid > 0 ? *pid : 0;
}

// Socket inodes of pid's open fds; nullopt when /proc/PID/fd is not readable to us.
std::optional<std::set<std::string>> socket_inodes(pid_t pid) {
  std::string dir = fmt::format("/proc/{}/fd", pid);
  DIR* d = opendir(dir.c_str());
  if (!d) return std::nullopt;
  std::set<std::string> out;
  while (dirent* e = readdir(d)) {
    char target[64];
    ssize_t n = readlinkat(dirfd(d), e->d_name, target, sizeof target - 1);
    if (n <= 0) continue;
    std::string t(target, static_cast<size_t>(n));
    if (t.rfind("socket:[", 0) == 0) out.insert(t.substr(8, t.size() - 9));
  }
  closedir(d);
  return out;
}

// Does pasta hold a socket bound to f's host port? pasta 2023-03 carries on silently when it
// cannot bind a published port, so readiness alone does not prove the port is ours. nullopt when
// pasta's fds are not readable (then the pre-start check is all we have).
std::optional<bool> pasta_holds_port(pid_t pid, const PortForward& f) {
  auto inodes = socket_inodes(pid);
  if (!inodes) return std::nullopt;
  const char* tables[2][2] = {{"tcp", "tcp6"}, {"udp", "udp6"}};
  for (const char* table : tables[f.proto == Proto::udp ? 1 : 0]) {
    // One line per socket of pasta's netns (the host's): large on a busy host, but bounded.
    auto text = read_regular_file(fmt::format("/proc/{}/net/{}", pid, table), 64u << 20, Errc::corrupt);
    if (!text) continue;
    std::istringstream t(*text);
    std::string line;
    std::getline(t, line);  // header
    while (std::getline(t, line)) {
      std::istringstream ls(line);
      std::string sl, local, remote, state, queues, timer, retr, uid, timeout, inode;
      ls >> sl >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >> inode;
      auto colon = local.rfind(':');
      if (colon == std::string::npos) continue;
      auto port = parse_int<unsigned>(std::string_view(local).substr(colon + 1), 16);
      if (port && *port == f.host_port && inodes->count(inode)) return true;
    }
  }
  return false;
}

}  // namespace

std::vector<std::string> pasta_argv(const std::string& binary, const RootlessNetRequest& req,
                                    const std::string& pid_file) {
  // --foreground keeps pasta our child, so the pidfd from clone3 is the helper itself (no PID
  // read back from a file and trusted); --stderr sends its log to the log file we hand it.
  std::vector<std::string> argv{binary, "--config-net", "--foreground", "--quiet", "--stderr",
                                "--pid", pid_file, "--mtu", std::to_string(req.mtu)};
  bool any_tcp = false, any_udp = false;
  for (const PortForward& f : req.forwards) {
    argv.push_back(f.proto == Proto::udp ? "-u" : "-t");
    argv.push_back(pasta_spec(f));
    (f.proto == Proto::udp ? any_udp : any_tcp) = true;
  }
  // pasta's default is "auto" in both directions: every port bound in the pod published on the
  // host, and every host port reachable from the pod. Publish only what was asked for.
  if (!any_tcp) argv.insert(argv.end(), {"-t", "none"});
  if (!any_udp) argv.insert(argv.end(), {"-u", "none"});
  argv.insert(argv.end(), {"-T", "none", "-U", "none"});
  // Without it the gateway address reaches the host's loopback services.
  if (!req.allow_host_loopback) argv.push_back("--no-map-gw");
  // As root, pasta (2023-03) switches to "nobody" before it joins the target namespaces and then
  // cannot join them ("Couldn't switch to pasta namespaces"): keep our ids; it still drops its
  // capabilities once set up.
  if (geteuid() == 0) argv.insert(argv.end(), {"--runas", fmt::format("{}:{}", geteuid(), getegid())});
  if (!req.userns_path.empty()) argv.insert(argv.end(), {"--userns", req.userns_path});
  argv.insert(argv.end(), {"--netns", req.netns_path});
  return argv;
}

Result<RootlessNet> start_pasta(const RootlessNetRequest& req) {
  auto binary = find_tool(req.binary.empty() ? "pasta" : req.binary, "passt");
  if (!binary) return std::unexpected(binary.error());
  HelperFiles files = helper_files(DriverKind::pasta, req.run_dir, req.name);
  if (auto d = make_dirs(req.run_dir, 0700); !d) return std::unexpected(d.error());
  if (pid_t old = read_pid_file(files.pid_file); old > 0 && proc_comm(old).rfind("pasta", 0) == 0)
    return fail(Errc::already_exists, fmt::format("a pasta (pid {}) already runs for {}", old, req.name));
  unlink(files.pid_file.c_str());
  // pasta does not fail when a published port is taken (it logs nothing under --quiet and goes
  // on without it): check before starting it, and again once it runs.
  for (const PortForward& f : req.forwards)
    if (std::string why = diagnose_port(f); !why.empty())
      return fail(Errc::busy, fmt::format("publish port {}: {}", format_port_forward(f), why));

  UniqueFd log(open(files.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600));
  if (!log) return fail_errno("open " + files.log);
  auto argv = pasta_argv(*binary, req, files.pid_file);
  auto child = spawn_helper(*binary, argv, {{1, log.get()}, {2, log.get()}});
  if (!child) return std::unexpected(child.error());

  RootlessNetRecord rec;
  rec.kind = DriverKind::pasta;
  rec.pid = child->pid;
  rec.log_path = files.log;
  rec.pid_file = files.pid_file;
  rec.netns_path = req.netns_path;
  rec.allow_host_loopback = req.allow_host_loopback;
  rec.forwards = req.forwards;
  auto start = proc_start_time(child->pid);
  rec.start_time = start ? *start : 0;
  RootlessNet net(std::move(rec), std::move(child->pidfd), UniqueFd());

  // pasta writes its pid file once the tap is configured and the forwarded ports are bound,
  // right before it enters its loop; it exits instead when any of that fails.
  auto deadline = Clock::now() + req.ready_timeout;
  for (auto pause = std::chrono::milliseconds(1);; pause = std::min(pause * 2, std::chrono::milliseconds(20))) {
    if (read_pid_file(files.pid_file) == net.record().pid) break;
    if (wait_exit(net.pidfd(), pause)) {
      std::string status = reap(net.pidfd());
      Error e(Errc::plugin_failed,
              fmt::format("pasta {} at start: {}", status.empty() ? "failed" : status, log_tail(files.log)));
      // pasta binds every published port before it is ready: a taken port is the usual cause.
      for (const PortForward& f : req.forwards)
        if (std::string why = diagnose_port(f); !why.empty()) e.context(why);
      return fail(std::move(e));
    }
    if (Clock::now() >= deadline)
      return fail(Errc::timed_out, fmt::format("pasta not ready after {} ms (log: {})", req.ready_timeout.count(),
                                               log_tail(files.log)));
  }
  for (const PortForward& f : req.forwards) {
    if (pasta_holds_port(net.record().pid, f) == false) {
      std::string why = diagnose_port(f);
      return fail(Errc::busy, fmt::format("publish port {}: pasta could not bind it{}", format_port_forward(f),
                                          why.empty() ? "" : ": " + why));
    }
  }
  return net;
}

}  // namespace podns::rootless::detail
