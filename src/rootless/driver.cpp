// start_rootless_net() and the operations on a recorded helper: forwards, liveness, stop, gc.
#include <dirent.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "podns/names.hpp"
#include "rootless/drivers.hpp"
#include "rootless/helper_process.hpp"
#include "rootless/slirp_api.hpp"
#include "podns/parse_int.hpp"

namespace podns::rootless {

namespace detail {

HelperFiles helper_files(DriverKind kind, const std::string& run_dir, const std::string& name) {
  std::string base = run_dir + "/" + name;
  if (kind == DriverKind::pasta) return {"", base + kPastaPidSuffix, base + kPastaLogSuffix};
  return {base + kSlirpSocketSuffix, "", base + kSlirpLogSuffix};
}

Status validate_request(const RootlessNetRequest& req) {
  if (auto n = validate_name(req.name); !n) return fail_with(n, "rootless network");
  if (req.netns_path.empty()) return fail(Errc::invalid_argument, "rootless network: no netns path");
  if (req.run_dir.empty() || req.run_dir[0] != '/')
    return fail(Errc::invalid_argument, fmt::format("rootless network: run dir \"{}\" is not absolute", req.run_dir));
  if (req.mtu < 68 || req.mtu > 65520)
    return fail(Errc::invalid_argument, fmt::format("rootless network: MTU {} is outside 68-65520", req.mtu));
  for (size_t i = 0; i < req.forwards.size(); ++i) {
    const PortForward& f = req.forwards[i];
    if (auto ok = check_host_port_allowed(f); !ok) return std::unexpected(ok.error());
    for (size_t j = 0; j < i; ++j) {
      const PortForward& g = req.forwards[j];
      bool overlap_ip = f.host_ip.empty() || g.host_ip.empty() || f.host_ip == g.host_ip;
      if (g.proto == f.proto && g.host_port == f.host_port && overlap_ip)
        return fail(Errc::invalid_argument, fmt::format("port forwards {} and {} use the same host port",
                                                        format_port_forward(g), format_port_forward(f)));
    }
  }
  return {};
}

std::string diagnose_port(const PortForward& f) {
  int type = f.proto == Proto::udp ? SOCK_DGRAM : SOCK_STREAM;
  UniqueFd s(socket(AF_INET, type | SOCK_CLOEXEC, 0));
  if (!s) return {};
  // Like the helpers' own listeners: lingering TIME_WAIT connections do not make a port taken.
  int one = 1;
  setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_port = htons(f.host_port);
  if (f.host_ip.empty() || inet_pton(AF_INET, f.host_ip.c_str(), &a.sin_addr) != 1) a.sin_addr.s_addr = INADDR_ANY;
  if (bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return {};
  if (errno == EADDRINUSE) return fmt::format("host port {}/{} is already in use", f.host_port, proto_name(f.proto));
  if (errno == EACCES) return fmt::format("host port {} needs privilege", f.host_port);
  if (errno == EADDRNOTAVAIL) return fmt::format("host address {} is not configured on this host", f.host_ip);
  return {};
}

}  // namespace detail

using namespace detail;

RootlessNet::RootlessNet(RootlessNetRecord record, UniqueFd pidfd, UniqueFd exit_fd)
    : record_(std::move(record)), pidfd_(std::move(pidfd)), exit_fd_(std::move(exit_fd)) {}

RootlessNet& RootlessNet::operator=(RootlessNet&& other) noexcept {
  if (this != &other) {
    (void)stop();
    record_ = std::move(other.record_);
    pidfd_ = std::move(other.pidfd_);
    exit_fd_ = std::move(other.exit_fd_);
  }
  return *this;
}

RootlessNet::~RootlessNet() { (void)stop(); }

RootlessNetRecord RootlessNet::detach() {
  pidfd_.reset();
  exit_fd_.reset();
  return record_;
}

Status RootlessNet::stop() {
  if (!pidfd_) return {};
  // Closing our end of the exit pipe already asks slirp4netns to quit; the signal makes sure.
  exit_fd_.reset();
  Status st = terminate(pidfd_.view());
  pidfd_.reset();
  if (!record_.api_socket.empty()) unlink(record_.api_socket.c_str());
  if (!record_.pid_file.empty()) unlink(record_.pid_file.c_str());
  if (!record_.log_path.empty()) unlink(record_.log_path.c_str());
  if (!st) return fail_with(st, fmt::format("stop {} pid {}", driver_name(record_.kind), record_.pid));
  return {};
}

Result<RootlessNet> start_rootless_net(const RootlessNetRequest& req) {
  const std::string what = fmt::format("start {} for {}", driver_name(req.kind), req.name);
  if (auto v = validate_request(req); !v) return fail_with(v, what);
  auto net = req.kind == DriverKind::pasta ? start_pasta(req) : start_slirp4netns(req);
  if (!net) return fail_with(net, what);
  return net;
}

namespace {

// The recorded helper, verified, or Errc::process_exited.
Result<UniqueFd> require_running(const RootlessNetRecord& r) {
  auto fd = open_recorded(r.pid, r.start_time);
  if (!fd) return std::unexpected(fd.error());
  if (!*fd)
    return fail(Errc::process_exited, fmt::format("{} (pid {}) is not running", driver_name(r.kind), r.pid));
  return std::move(**fd);
}

}  // namespace

Result<PortForward> add_forward(RootlessNetRecord& record, const PortForward& forward) {
  if (record.kind == DriverKind::pasta)
    return fail(Errc::unsupported, "pasta fixes its port forwards at start; recreate the pod to change them");
  if (auto ok = check_host_port_allowed(forward); !ok) return std::unexpected(ok.error());
  for (auto& f : record.forwards)
    if (f.proto == forward.proto && f.host_port == forward.host_port &&
        (f.host_ip.empty() || forward.host_ip.empty() || f.host_ip == forward.host_ip))
      return fail(Errc::already_exists, fmt::format("host port {}/{} is already published as {}", forward.host_port,
                                                    proto_name(forward.proto), format_port_forward(f)));
  auto running = require_running(record);
  if (!running) return std::unexpected(running.error());
  auto id = slirp_add_hostfwd(record.api_socket, forward);
  if (!id) {
    // slirp4netns only says "slirp_add_hostfwd failed": find out why if we can. A port that
    // cannot be had is Errc::busy, as pasta's driver reports it, with slirp4netns's words kept.
    std::string why = diagnose_port(forward);
    if (!why.empty()) return fail(Errc::busy, fmt::format("{} ({})", why, id.error().message()));
    return std::unexpected(id.error());
  }
  PortForward added = forward;
  added.id = *id;
  record.forwards.push_back(added);
  return added;
}

Status remove_forward(RootlessNetRecord& record, const PortForward& forward) {
  if (record.kind == DriverKind::pasta)
    return fail(Errc::unsupported, "pasta fixes its port forwards at start; recreate the pod to change them");
  auto it = std::find_if(record.forwards.begin(), record.forwards.end(), [&](const PortForward& f) {
    return forward.id >= 0 ? f.id == forward.id : f.same_as(forward);
  });
  if (it == record.forwards.end())
    return fail(Errc::not_found, fmt::format("port forward {}", format_port_forward(forward)));
  auto running = require_running(record);
  if (!running) return std::unexpected(running.error());
  if (auto r = slirp_remove_hostfwd(record.api_socket, it->id); !r) return std::unexpected(r.error());
  record.forwards.erase(it);
  return {};
}

Result<std::vector<PortForward>> list_forwards(const RootlessNetRecord& record) {
  if (record.kind == DriverKind::pasta) return record.forwards;
  auto running = require_running(record);
  if (!running) return std::unexpected(running.error());
  return slirp_list_hostfwd(record.api_socket);
}

Result<bool> alive(const RootlessNetRecord& record) {
  auto fd = open_recorded(record.pid, record.start_time);
  if (!fd) return std::unexpected(fd.error());
  return fd->has_value();
}

HelperStatus helper_status(const RootlessNetRecord& record) {
  HelperStatus s;
  s.kind = record.kind;
  s.pid = record.pid;
  auto is_alive = alive(record);
  s.running = is_alive && *is_alive;
  s.forwards = record.forwards;
  if (s.running && record.kind == DriverKind::slirp4netns) {
    if (auto live = slirp_list_hostfwd(record.api_socket)) s.forwards = *live;
  }
  if (!s.running && !record.log_path.empty()) s.last_log = log_tail(record.log_path);
  return s;
}

void to_json(nlohmann::json& j, const HelperStatus& s) {
  nlohmann::json forwards = nlohmann::json::array();
  for (auto& f : s.forwards) forwards.push_back(format_port_forward(f));
  j = {{"driver", driver_name(s.kind)}, {"pid", s.pid}, {"running", s.running}, {"forwards", std::move(forwards)}};
  if (!s.last_log.empty()) j["log"] = s.last_log;
}

Status stop(const RootlessNetRecord& record) {
  auto fd = open_recorded(record.pid, record.start_time);
  if (!fd) return fail_with(fd, fmt::format("stop {} pid {}", driver_name(record.kind), record.pid));
  if (*fd) {
    if (auto t = terminate((*fd)->view()); !t)
      return fail_with(t, fmt::format("stop {} pid {}", driver_name(record.kind), record.pid));
  }
  for (const std::string* f : {&record.api_socket, &record.pid_file, &record.log_path})
    if (!f->empty() && unlink(f->c_str()) < 0 && errno != ENOENT) return fail_errno("remove " + *f);
  return {};
}

namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// slirp4netns, or pasta: Debian's pasta is passt under another name, and on a CPU with AVX2 it
// re-execs passt.avx2, whose name the kernel then shows.
bool is_helper_comm(const std::string& comm) {
  return comm == "slirp4netns" || comm.rfind("pasta", 0) == 0 || comm.rfind("passt", 0) == 0;
}

struct FoundHelper {
  pid_t pid;
  uint64_t start_time;
  std::string comm;
};

// Our helpers (same uid) whose command line `match` accepts.
std::vector<FoundHelper> find_helpers(const std::function<bool(const std::vector<std::string>&)>& match) {
  std::vector<FoundHelper> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    auto parsed = parse_int<pid_t>(name);
    if (!parsed || *parsed <= 0) continue;  // not a process directory
    pid_t pid = *parsed;
    std::string comm = proc_comm(pid);
    if (!is_helper_comm(comm)) continue;
    struct stat st;
    if (stat(("/proc/" + name).c_str(), &st) < 0 || st.st_uid != geteuid()) continue;
    if (!match(proc_cmdline(pid))) continue;
    if (auto start = proc_start_time(pid)) out.push_back({pid, *start, comm});
  }
  closedir(d);
  return out;
}

}  // namespace

Status stop_unrecorded(DriverKind kind, const std::string& run_dir, const std::string& name) {
  HelperFiles files = helper_files(kind, run_dir, name);
  const std::string& key = kind == DriverKind::pasta ? files.pid_file : files.api_socket;
  auto found = find_helpers([&](const std::vector<std::string>& argv) {
    return std::find(argv.begin(), argv.end(), key) != argv.end();
  });
  for (const auto& h : found) {
    auto fd = open_recorded(h.pid, h.start_time);
    if (!fd) return fail_with(fd, fmt::format("stop unrecorded {} pid {}", h.comm, h.pid));
    if (!*fd) continue;  // gone meanwhile
    if (auto t = terminate((*fd)->view()); !t)
      return fail_with(t, fmt::format("stop unrecorded {} pid {}", h.comm, h.pid));
  }
  for (const std::string* f : {&files.api_socket, &files.pid_file, &files.log})
    if (!f->empty() && unlink(f->c_str()) < 0 && errno != ENOENT) return fail_errno("remove " + *f);
  return {};
}

Result<std::vector<std::string>> gc(const std::string& run_dir, const std::vector<RootlessNetRecord>& live) {
  std::vector<std::string> done;
  if (run_dir.empty() || run_dir[0] != '/')
    return fail(Errc::invalid_argument, fmt::format("rootless gc: run dir \"{}\" is not absolute", run_dir));
  std::string prefix = run_dir + (run_dir.back() == '/' ? "" : "/");
  std::set<std::string> keep;
  for (auto& r : live)
    for (auto* f : {&r.api_socket, &r.pid_file, &r.log_path})
      if (!f->empty()) keep.insert(*f);

  // Helpers of ours with an argument inside run_dir that no live record names.
  auto found = find_helpers([&](const std::vector<std::string>& argv) {
    return std::any_of(argv.begin(), argv.end(), [&](const std::string& a) {
      auto at = a.find(prefix);
      return at == 0 || (at != std::string::npos && a[at - 1] == '=');
    });
  });
  for (const auto& h : found) {
    bool recorded = std::any_of(live.begin(), live.end(), [&](const RootlessNetRecord& r) {
      return r.pid == h.pid && r.start_time == h.start_time;
    });
    if (recorded) continue;
    auto fd = open_recorded(h.pid, h.start_time);
    if (!fd || !*fd) continue;
    if (auto t = terminate((*fd)->view()); !t)
      return fail_with(t, fmt::format("stop orphaned {} pid {}", h.comm, h.pid));
    done.push_back(fmt::format("stopped orphaned {} pid {}", h.comm, h.pid));
  }

  // Sockets, pid files and logs no live record names.
  if (DIR* d = opendir(run_dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (!ends_with(name, kSlirpSocketSuffix) && !ends_with(name, kSlirpLogSuffix) &&
          !ends_with(name, kPastaPidSuffix) && !ends_with(name, kPastaLogSuffix))
        continue;
      std::string path = prefix + name;
      if (keep.count(path)) continue;
      if (unlink(path.c_str()) == 0) done.push_back("removed " + path);
      else if (errno != ENOENT) {
        closedir(d);
        return fail_errno("remove " + path);
      }
    }
    closedir(d);
  }
  return done;
}

}  // namespace podns::rootless
