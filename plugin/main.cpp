// podns-bridge: the CNI plugin executable. Reads its process (CNI_* variables, stdin) into an
// Invocation, runs it (src/plugin/), writes the outcome back. Nothing else lives here.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "podns/plugin/plugin.hpp"
#include "podns/pod/pod.hpp"

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string read_stdin() {
  std::string s;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n > 0) {
      s.append(buf, static_cast<size_t>(n));
      // The config is bounded (1 MiB, checked when parsed); more is not read.
      if (s.size() > (2u << 20)) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  return s;
}

void write_all(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

}  // namespace

int main() {
  podns::plugin::Invocation in;
  in.command = env("CNI_COMMAND");
  in.container_id = env("CNI_CONTAINERID");
  in.netns = env("CNI_NETNS");
  in.ifname = env("CNI_IFNAME");
  in.args = env("CNI_ARGS");
  // VERSION may come without stdin (libcni sends {"cniVersion": ...}; older runtimes nothing).
  if (!in.command.empty()) in.stdin_text = read_stdin();
  auto out = podns::plugin::run(in);
  write_all(STDOUT_FILENO, out.out);
  write_all(STDERR_FILENO, out.err);
  podns::pod::hand_off_slow_closes();  // or a DEL's exit waits for the kernel (most of its time)
  return out.exit_code;
}
