// Shared helpers for podns tests: skips with a reason, private temp dirs, unique names, running
// commands (the podns CLI, iproute2) and capturing their output.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "podns/error.hpp"

// Tests that need root (real namespaces, mounts, netlink) skip with the reason when not root.
#define PODNS_REQUIRE_ROOT()                                              \
  do {                                                                    \
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (real namespaces)"; \
  } while (0)

// Skip unless `tool` is on PATH (or an absolute path that exists), naming the Debian package.
#define PODNS_REQUIRE_TOOL(tool, package)                                                        \
  do {                                                                                           \
    if (!::podns::test::have_tool(tool))                                                         \
      GTEST_SKIP() << tool << " not found (install Debian package " << package << ")";           \
  } while (0)

// Pods on CNI networks: the reference plugins and nft (to check and clean their rules).
#define PODNS_REQUIRE_CNI()                                                  \
  PODNS_REQUIRE_ROOT();                                                     \
  PODNS_REQUIRE_TOOL("/usr/lib/cni/bridge", "containernetworking-plugins"); \
  PODNS_REQUIRE_TOOL("nft", "nftables")

// ASSERT that a podns::Result holds a value, printing the error message otherwise.
#define ASSERT_OK(expr)                                                         \
  do {                                                                          \
    auto&& podns_r_ = (expr);                                                   \
    ASSERT_TRUE(podns_r_.has_value()) << #expr << ": " << podns_r_.error().message(); \
  } while (0)
#define EXPECT_OK(expr)                                                         \
  do {                                                                          \
    auto&& podns_r_ = (expr);                                                   \
    EXPECT_TRUE(podns_r_.has_value()) << #expr << ": " << podns_r_.error().message(); \
  } while (0)

namespace podns::test {

// A private directory under /tmp, removed (after detaching any mounts left below it) on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "t");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

// A name unique to this test process: "<prefix><pid>x<counter>" (short enough for ifnames when the
// prefix is at most 4 bytes).
std::string unique_name(const std::string& prefix);

bool have_tool(const std::string& tool);

// Whether `holds` became true within `within`, asked every 20 ms. For kernel state that follows
// an operation asynchronously (a link's operstate and its IPv6 link-local address come from the
// linkwatch work queue, a netns's devices go in a cleanup work queue): the test waits for what it
// checks instead of racing the kernel, and a state that never comes still fails.
bool eventually(const std::function<bool()>& holds, std::chrono::milliseconds within = std::chrono::seconds(5));

struct CommandResult {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string out;
  std::string err;
};
// Run argv (argv[0] looked up in PATH) with extra environment entries "K=V", stdin from `input`.
CommandResult run(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
                  const std::string& input = {});
// Run the podns CLI built with this tree.
CommandResult run_podns(const std::vector<std::string>& args, const std::vector<std::string>& env = {});
// Run podns-faulty, the CLI with a fault handler: PODNS_TEST_KILL_POINT=<point> in `env` makes it
// SIGKILL itself at that crash point (src/sys/fault.hpp).
CommandResult run_podns_faulty(const std::vector<std::string>& args, const std::vector<std::string>& env = {});
// The whole text of a file (/proc entries, files the test wrote); "" when it cannot be read.
std::string read_text(const std::string& path);
// Whether anything is at `path`, a dangling symlink included (lstat).
bool exists(const std::string& path);
// Everything until end of file from `fd` (a pipe's read end), across EINTR.
std::string read_all(int fd);
// The lines of /proc/<pid>/mountinfo whose mount point is `path`.
std::vector<std::string> mounts_at(const std::string& path, const std::string& pid = "self");

// /etc/netns/<name>/<file> holding `text`: iproute2's fixed location, which `ip netns exec` and
// `podns ns exec` bind over /etc/<file>. The directory goes again with this object.
class EtcNetnsFile {
 public:
  EtcNetnsFile(const std::string& name, const std::string& file, const std::string& text);
  ~EtcNetnsFile();
  EtcNetnsFile(const EtcNetnsFile&) = delete;
  EtcNetnsFile& operator=(const EtcNetnsFile&) = delete;

 private:
  std::string dir_;
};

// Path of the podns CLI, of podns-faulty and of the source tree (for test data).
std::string podns_cli();
std::string podns_faulty_cli();
std::string source_dir();

// While it lives, this process is a child subreaper (PR_SET_CHILD_SUBREAPER): orphans of its
// descendants (a podns-close closer, a daemonized helper) come back to it, to be seen and reaped.
class ChildSubreaper {
 public:
  ChildSubreaper();
  ~ChildSubreaper();
  ChildSubreaper(const ChildSubreaper&) = delete;
  ChildSubreaper& operator=(const ChildSubreaper&) = delete;
  bool ok() const { return ok_; }

 private:
  bool ok_;
};

// One process as /proc/PID/stat shows it.
struct ProcEntry {
  std::string pid, comm, state, ppid;
};
// Every process now, from /proc.
std::vector<ProcEntry> read_processes();

// The next exited child of this process that `comm` names, reaped, waiting at most `timeout_ms`:
// its exit status, or -1 when none came (children of other names are left alone).
int reap_child_named(const std::string& comm, int timeout_ms);

}  // namespace podns::test
