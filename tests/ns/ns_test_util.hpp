// Helpers for namespace tests: a child process parked in fresh namespaces, killed and reaped by its
// handle.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "podns/paths.hpp"
#include "test_support.hpp"

namespace podns::test {

// fork() a child that unshares `flags` (0: none), reports readiness over a pipe, then sleeps until
// killed. The destructor kills and reaps it.
class ParkedChild {
 public:
  explicit ParkedChild(int flags = 0) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(p[0]);
      char ok = (flags == 0 || ::unshare(flags) == 0) ? 1 : 0;
      (void)!::write(p[1], &ok, 1);
      for (;;) ::pause();
    }
    ::close(p[1]);
    char ok = 0;
    if (pid_ > 0 && ::read(p[0], &ok, 1) == 1 && ok) ready_ = true;
    ::close(p[0]);
  }
  ~ParkedChild() { kill(); }
  ParkedChild(const ParkedChild&) = delete;
  ParkedChild& operator=(const ParkedChild&) = delete;

  pid_t pid() const { return pid_; }
  bool ready() const { return ready_; }
  // SIGKILL and reap.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  bool ready_ = false;
};

// Paths below a private temp dir, so tests never touch /run/netns.
struct TestPaths {
  TempDir dir{"ns"};
  Paths paths = Paths::under(dir / "run", dir / "state");
};

}  // namespace podns::test
