// The rootless session: finding the pause process from its pid file (never trusting a PID alone),
// starting one under a lock, joining its user and mount namespaces, and stopping it when idle.
#include "podns/rootless/session.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "rootless/helper_process.hpp"
#include "rootless/session_internal.hpp"
#include "podns/make_dirs.hpp"
#include "podns/parse_int.hpp"
#include "podns/read_file.hpp"
#include "podns/write_file.hpp"
#include "sys/nsfs.hpp"
#include "sys/proc_status.hpp"

namespace podns::rootless {
namespace {

// A pid file or an id map: small, and "" when missing, unreadable, too large or not a regular file
// (a FIFO in the pid file's place must not hang every command of the user).
std::string read_small(const std::string& path) {
  auto text = read_regular_file(path, 64 * 1024, Errc::corrupt);
  return text ? std::move(*text) : std::string();
}

// A reader never sees half a pid file. No directory sync: the file matters only while its pause
// process lives, and a crash of the machine ends that.
Status write_pid_file(const std::string& path, const SessionInfo& info) {
  return write_file_atomically(path, fmt::format("{} {}\n", info.pid, info.start_time), {.mode = 0600, .sync_dir = false});
}

std::string unescape_mountinfo(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    // The kernel escapes space, tab, newline and backslash as \ooo.
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = 0;
      bool octal = true;
      for (size_t k = 1; k <= 3; ++k) {
        if (s[i + k] < '0' || s[i + k] > '7') octal = false;
        else v = v * 8 + (s[i + k] - '0');
      }
      if (octal) {
        out += static_cast<char>(v);
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

// Kill the recorded pause process (never another process reusing its PID) and remove its pid
// file. The caller holds session.lock exclusively: no command is joining meanwhile.
Status stop_pause(const std::string& run_dir, const SessionInfo& info) {
  auto fd = detail::open_recorded(info.pid, info.start_time);
  if (!fd) return fail_with(fd, "stop the session");
  if (*fd) {
    if (::syscall(SYS_pidfd_send_signal, (*fd)->get(), SIGKILL, nullptr, 0) < 0 && errno != ESRCH)
      return fail_errno(fmt::format("stop the session: kill pause process {}", info.pid));
    if (!detail::wait_exit((*fd)->view(), std::chrono::milliseconds(5000)))
      return fail(Errc::timed_out, fmt::format("stop the session: pause process {} did not exit", info.pid));
  }
  std::string pid_file = detail::pause_pid_file(run_dir);
  if (::unlink(pid_file.c_str()) < 0 && errno != ENOENT) return fail_errno("remove " + pid_file);
  return {};
}

// setns into the session's user and mount namespaces, through the pidfd (one call, Linux 5.8),
// or through /proc/PID/ns/{user,mnt} opened while the pidfd showed the process alive (fallback).
Status setns_session(FdView pidfd, pid_t pid) {
  if (sys::setns(pidfd.get(), CLONE_NEWUSER | CLONE_NEWNS) == 0) return {};
  int err = errno;
  if (err == EINVAL) {
    // Either a kernel without setns on pidfds, or a multi-threaded caller (the kernel refuses a
    // user namespace then): tell them apart before falling back.
    auto status = sys::read_proc_file("/proc/self/status");
    if (!status) return fail_with(status, "join the session");
    auto threads = sys::status_number<long>(*status, "Threads");
    if (!threads) return fail(std::move(threads.error()).context("join the session: /proc/self/status"));
    if (*threads > 1)
      return fail(Errc::wrong_thread_model, "join the session: setns into a user namespace needs a "
                                            "single-threaded process");
    UniqueFd user(::open(fmt::format("/proc/{}/ns/user", pid).c_str(), O_RDONLY | O_CLOEXEC));
    UniqueFd mnt(::open(fmt::format("/proc/{}/ns/mnt", pid).c_str(), O_RDONLY | O_CLOEXEC));
    if (!user || !mnt) return fail_errno(fmt::format("open /proc/{}/ns", pid));
    if (detail::has_exited(pidfd)) return fail(Errc::process_exited, "join the session: the pause process exited");
    if (sys::setns(user.get(), CLONE_NEWUSER) < 0) return fail_errno("join the session's user namespace");
    if (sys::setns(mnt.get(), CLONE_NEWNS) < 0) return fail_errno("join the session's mount namespace");
    return {};
  }
  errno = err;
  if (err == ESRCH) return fail(Errc::process_exited, "join the session: the pause process exited");
  return fail_errno(fmt::format("join the session of pause process {}", pid));
}

}  // namespace

void to_json(nlohmann::json& j, const SessionInfo& s) {
  j = nlohmann::json{{"pid", s.pid}, {"startTime", s.start_time}, {"pidFile", s.pid_file},
                     {"uidMap", s.uid_map}, {"gidMap", s.gid_map}};
}

Result<std::optional<SessionInfo>> find_session(const std::string& run_dir) {
  std::string pid_file = detail::pause_pid_file(run_dir);
  std::string text = read_small(pid_file);
  // "PID START\n", exactly. A missing, empty or garbled file: no session (ensure_session replaces
  // it); deliberately not an error, or one bad file would lock the user out of every command.
  std::string_view fields = trim_blanks(text);
  auto space = fields.find(' ');
  if (space == std::string_view::npos) return std::optional<SessionInfo>();
  auto parsed_pid = parse_int<pid_t>(fields.substr(0, space));
  auto parsed_start = parse_int<unsigned long long>(fields.substr(space + 1));
  if (!parsed_pid || !parsed_start || *parsed_pid <= 0) return std::optional<SessionInfo>();
  pid_t pid = *parsed_pid;
  unsigned long long start = *parsed_start;
  auto fd = detail::open_recorded(static_cast<pid_t>(pid), start);
  if (!fd) return fail_with(fd, "find the session");
  if (!*fd) return std::optional<SessionInfo>();
  // The start time matched; the name and the owner must too (a forged or stale file naming some
  // other process of the same age is never taken for the session).
  struct stat st;
  if (detail::proc_comm(static_cast<pid_t>(pid)) != kPauseComm ||
      ::stat(fmt::format("/proc/{}", pid).c_str(), &st) < 0 || st.st_uid != ::getuid())
    return std::optional<SessionInfo>();
  SessionInfo info;
  info.pid = static_cast<pid_t>(pid);
  info.start_time = start;
  info.pid_file = pid_file;
  info.uid_map = read_small(fmt::format("/proc/{}/uid_map", pid));
  info.gid_map = read_small(fmt::format("/proc/{}/gid_map", pid));
  if (detail::has_exited((*fd)->view())) return std::optional<SessionInfo>();
  return std::optional<SessionInfo>(std::move(info));
}

Result<SessionInfo> ensure_session(const SessionOptions& o) {
  if (auto s = make_dirs(o.run_dir, 0700); !s) return fail_with(s, "session dir");
  // Two first commands at once: the second waits here and then finds the first one's session.
  auto lk = FileLock::acquire(detail::pause_lock_file(o.run_dir), FileLock::Mode::exclusive);
  if (!lk) return fail(lk.error());
  auto found = find_session(o.run_dir);
  if (!found) return fail(found.error());
  if (*found) return std::move(**found);
  auto maps = session_idmappings(o.subid_files);
  if (!maps) return fail(maps.error());
  auto info = detail::start_pause_process(*maps, o.start_timeout);
  if (!info) return fail_with(info, "start the rootless session");
  info->pid_file = detail::pause_pid_file(o.run_dir);
  if (auto s = write_pid_file(info->pid_file, *info); !s) {
    (void)stop_pause(o.run_dir, *info);
    return fail_with(s, "record the rootless session");
  }
  info->uid_map = read_small(fmt::format("/proc/{}/uid_map", info->pid));
  info->gid_map = read_small(fmt::format("/proc/{}/gid_map", info->pid));
  return std::move(*info);
}

Result<bool> inside_session(const SessionInfo& session) {
  struct stat self, pause;
  if (::stat("/proc/self/ns/user", &self) < 0) return fail_errno("stat /proc/self/ns/user");
  std::string path = fmt::format("/proc/{}/ns/user", session.pid);
  if (::stat(path.c_str(), &pause) < 0) return fail_errno("stat " + path);
  return self.st_dev == pause.st_dev && self.st_ino == pause.st_ino;
}

Result<JoinedSession> join_session(const SessionOptions& o, bool start) {
  if (auto s = make_dirs(o.run_dir, 0700); !s) return fail_with(s, "session dir");
  // Shared for our whole life: a stopper (exclusive, non-blocking) cannot kill the pause process
  // between our reading the pid file and our setns, nor while we work inside.
  auto lk = FileLock::acquire(detail::session_lock_file(o.run_dir), FileLock::Mode::shared);
  if (!lk) return fail(lk.error());
  SessionInfo info;
  std::optional<UniqueFd> pidfd;
  // Two rounds: a pause process killed from outside between finding it and opening its pidfd is
  // replaced once (our shared lock keeps podns's own stoppers away).
  for (int round = 0; round < 2 && !pidfd; ++round) {
    if (start) {
      auto e = ensure_session(o);
      if (!e) return fail(e.error());
      info = std::move(*e);
    } else {
      auto found = find_session(o.run_dir);
      if (!found) return fail(found.error());
      if (!*found) return fail(Errc::not_found, fmt::format("no rootless session runs for {}", o.run_dir));
      info = std::move(**found);
    }
    auto fd = detail::open_recorded(info.pid, info.start_time);
    if (!fd) return fail_with(fd, "join the session");
    if (!*fd) continue;
    auto inside = inside_session(info);
    if (!inside) return fail_with(inside, "join the session");
    if (*inside) return JoinedSession(o.run_dir, std::move(info), std::move(*lk), false);
    pidfd = std::move(**fd);
  }
  if (!pidfd)
    return fail(Errc::process_exited, fmt::format("join the session: pause process {} keeps exiting", info.pid));
  std::string cwd;
  {
    char buf[PATH_MAX];
    if (::getcwd(buf, sizeof buf)) cwd = buf;
  }
  if (auto s = setns_session(pidfd->view(), info.pid); !s) return fail(s.error());
  // Joining a mount namespace moves the process to that namespace's root: come back. The path is
  // the same one (host mounts are copied into the session), and the session's root is the user.
  if (!cwd.empty() && ::chdir(cwd.c_str()) < 0)
    return fail_errno(fmt::format("join the session: chdir back to {}", cwd));
  return JoinedSession(o.run_dir, std::move(info), std::move(*lk), true);
}

Result<JoinedSession> adopt_joined_session(const std::string& run_dir, int lock_fd) {
  auto lk = FileLock::adopt(lock_fd, detail::session_lock_file(run_dir));
  if (!lk) return fail(lk.error());
  auto found = find_session(run_dir);
  if (!found) return fail(found.error());
  if (!*found) return fail(Errc::process_exited, fmt::format("no rootless session runs for {}", run_dir));
  auto inside = inside_session(**found);
  if (!inside) return fail(inside.error());
  if (!*inside) return fail(Errc::invalid_argument, "adopt the session: not inside it");
  return JoinedSession(run_dir, std::move(**found), std::move(*lk), true);
}

Result<std::vector<std::string>> session_pins(const std::string& run_dir) {
  std::error_code ec;
  std::string base = std::filesystem::weakly_canonical(run_dir, ec).string();
  if (ec || base.empty()) base = run_dir;
  if (base.back() != '/') base += '/';
  // A line per mount: thousands with many pins, never near the bound.
  auto text = read_regular_file("/proc/self/mountinfo", 64u << 20, Errc::corrupt);
  if (!text) return fail(text.error());
  std::istringstream mi(*text);
  std::vector<std::string> out;
  for (std::string line; std::getline(mi, line);) {
    auto sep = line.find(" - ");
    if (sep == std::string::npos || line.compare(sep + 3, 5, "nsfs ") != 0) continue;
    std::istringstream ls(line);
    std::string id, parent, devno, root, mount_point;
    ls >> id >> parent >> devno >> root >> mount_point;
    mount_point = unescape_mountinfo(mount_point);
    if (mount_point.rfind(base, 0) == 0) out.push_back(mount_point);
  }
  return out;
}

Result<bool> JoinedSession::release_and_stop_if_idle() {
  if (!lock_.held()) return false;
  FileLock lk = std::move(lock_);
  // Another joined command makes this fail: the last one out stops it. (The conversion may drop
  // our shared lock first: fine, we are done either way.)
  if (auto s = lk.try_change(FileLock::Mode::exclusive); !s) {
    if (s.error().is(Errc::busy)) return false;
    return fail(s.error());
  }
  auto pins = session_pins(run_dir_);
  if (!pins) return fail(pins.error());
  if (!pins->empty()) return false;
  if (auto s = stop_pause(run_dir_, info_); !s) return fail(s.error());
  return true;
}

Status JoinedSession::stop(bool force) {
  if (!lock_.held()) return fail(Errc::invalid_argument, "stop the session: not joined");
  FileLock lk = std::move(lock_);
  if (auto s = lk.try_change(FileLock::Mode::exclusive); !s) {
    if (s.error().is(Errc::busy)) return fail(Errc::busy, "stop the session: other podns commands are running in it");
    return fail(s.error());
  }
  auto pins = session_pins(run_dir_);
  if (!pins) return fail(pins.error());
  if (!pins->empty() && !force) {
    std::string list;
    for (size_t i = 0; i < pins->size() && i < 5; ++i) list += (i ? ", " : "") + (*pins)[i];
    if (pins->size() > 5) list += ", ...";
    return fail(Errc::busy, fmt::format("stop the session: {} namespace(s) pinned ({}): remove the pods and "
                                        "namespaces first, or stop with --force",
                                        pins->size(), list));
  }
  return stop_pause(run_dir_, info_);
}

}  // namespace podns::rootless
