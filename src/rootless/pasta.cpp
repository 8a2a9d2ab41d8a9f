// The pasta driver (passt in namespace mode): command line with the forwards fixed at start,
// readiness from its pid file, and no exit fd: pasta quits by itself when the pinned netns file
// it was pointed at is removed (it watches the pin's directory).
#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "rootless/drivers.hpp"
#include "rootless/helper_process.hpp"

namespace podns::rootless::detail {
namespace {

using Clock = std::chrono::steady_clock;

// pasta's -t/-u SPEC for one forward: "[ADDR/]HOSTPORT:CTRPORT".
std::string pasta_spec(const PortForward& f) {
  std::string addr = f.host_ip.empty() ? "" : f.host_ip + "/";
  return fmt::format("{}{}:{}", addr, f.host_port, f.container_port);
}

// The PID pasta wrote to its pid file, 0 while it has not.
pid_t read_pid_file(const std::string& path) {
  std::ifstream f(path);
  long pid = 0;
  if (f >> pid && pid > 0) return static_cast<pid_t>(pid);
  return 0;
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
  if (!req.userns_path.empty()) argv.insert(argv.end(), {"--userns", req.userns_path});
  argv.insert(argv.end(), {"--netns", req.netns_path});
  return argv;
}

Result<RootlessNet> start_pasta(const RootlessNetRequest& req) {
  auto binary = find_tool(req.binary.empty() ? "pasta" : req.binary, "passt");
  if (!binary) return std::unexpected(binary.error());
  HelperFiles files = helper_files(DriverKind::pasta, req.run_dir, req.name);
  if (auto d = make_private_dir(req.run_dir); !d) return std::unexpected(d.error());
  if (pid_t old = read_pid_file(files.pid_file); old > 0 && proc_comm(old).rfind("pasta", 0) == 0)
    return fail(Errc::already_exists, fmt::format("a pasta (pid {}) already runs for {}", old, req.name));
  unlink(files.pid_file.c_str());

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
      return fail(Errc::plugin_failed, fmt::format("pasta {} at start: {}", status.empty() ? "failed" : status,
                                                   log_tail(files.log)));
    }
    if (Clock::now() >= deadline)
      return fail(Errc::timed_out, fmt::format("pasta not ready after {} ms (log: {})", req.ready_timeout.count(),
                                               log_tail(files.log)));
  }
  return net;
}

}  // namespace podns::rootless::detail
