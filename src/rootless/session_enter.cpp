// A whole process inside the rootless session: join it, then exec this image again inside with
// the session lock handed over, so that everything the command starts is created inside.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "podns/parse_int.hpp"
#include "podns/rootless/session.hpp"

namespace podns::rootless {

Result<std::optional<JoinedSession>> enter_session(const Paths& paths, char* const argv[]) {
  if (const char* handed = std::getenv(kSessionLockEnv)) {
    // The image exec'd below: adopt the lock it handed over. Not passed on to anything started
    // from here (a nested podns under `podns unshare` is inside already).
    std::string value = handed;
    ::unsetenv(kSessionLockEnv);
    auto fd = parse_int<int>(value);
    if (!fd || *fd < 3) return fail(Errc::invalid_argument, fmt::format("{}={}: not an fd", kSessionLockEnv, value));
    auto adopted = adopt_joined_session(paths.run_dir, *fd);
    if (!adopted) return fail_with(adopted, "rootless session");
    return std::optional<JoinedSession>(std::move(*adopted));
  }
  if (::geteuid() == 0) return std::optional<JoinedSession>();
  // Inside, getuid() is 0 and Paths::from_environment() would pick root's /run/podns: keep the
  // user's dirs, for this process and for every podns started inside (`podns unshare`).
  ::setenv("PODNS_RUN_DIR", paths.run_dir.c_str(), 1);
  ::setenv("PODNS_STATE_DIR", paths.state_dir.c_str(), 1);
  SessionOptions o;
  o.run_dir = paths.run_dir;
  auto joined = join_session(o);
  if (!joined) return fail_with(joined, "rootless session");
  if (!joined->joined_now()) return std::optional<JoinedSession>(std::move(*joined));
  // Exec ourselves again, now inside: children that become root in a nested user namespace must
  // stay readable to us (adopt_joined_session). The shared lock crosses the exec; without it the
  // new image could not adopt the lock and would fail less clearly.
  int fd = joined->take_lock_fd();
  if (::fcntl(fd, F_SETFD, 0) < 0) {
    int err = errno;
    ::close(fd);
    return fail_errno(err, "rootless session: hand the session lock over");
  }
  ::setenv(kSessionLockEnv, std::to_string(fd).c_str(), 1);
  std::fflush(stdout);
  ::execv("/proc/self/exe", argv);
  return fail_errno("rootless session: exec /proc/self/exe inside the session");
}

Result<std::optional<pid_t>> stop_session(const SessionOptions& options, bool force) {
  if (::geteuid() == 0) return std::optional<pid_t>();  // root has no session
  auto joined = join_session(options, /*start=*/false);
  if (!joined) {
    if (joined.error().is(Errc::not_found)) return std::optional<pid_t>();
    return fail(std::move(joined.error()));
  }
  pid_t pid = joined->info().pid;
  if (auto s = joined->stop(force); !s) return fail(std::move(s.error()));
  return std::optional<pid_t>(pid);
}

}  // namespace podns::rootless
