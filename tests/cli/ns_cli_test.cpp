// podns ns ...: the CLI end to end on the real kernel, in a private run dir (PODNS_RUN_DIR),
// except the one test that checks `ip netns list` sees a podns pin in /run/netns.
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace podns::test {
namespace {

struct CliEnv {
  TempDir dir{"nscli"};
  std::vector<std::string> env{"PODNS_RUN_DIR=" + dir.path() + "/run"};
  CommandResult operator()(const std::vector<std::string>& args) const { return run_podns(args, env); }
  std::string netns(const std::string& name) const { return dir.path() + "/run/netns/" + name; }
};

// One line on stderr, "podns: ...", exit 1.
void expect_one_line_error(const CommandResult& r, const std::string& needle) {
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err.rfind("podns: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

}  // namespace

TEST(NsCli, AddLsInfoRm) {
  PODNS_REQUIRE_ROOT();
  CliEnv podns;
  auto add = podns({"ns", "add", "web"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_EQ(add.out, podns.netns("web") + "\n");
  auto ls = podns({"ns", "ls", "--json"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  auto j = nlohmann::json::parse(ls.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["name"], "web");
  EXPECT_EQ(j[0]["type"], "net");
  EXPECT_EQ(j[0]["path"], podns.netns("web"));
  EXPECT_TRUE(j[0]["live"].get<bool>());
  EXPECT_TRUE(j[0]["nsid"].is_null());
  struct stat st {};
  ASSERT_EQ(::stat(podns.netns("web").c_str(), &st), 0);
  EXPECT_EQ(j[0]["inode"].get<uint64_t>(), st.st_ino);

  auto text = podns({"ns", "ls"});
  ASSERT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("web"), std::string::npos);

  auto info = podns({"ns", "info", podns.netns("web"), "--json"});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  auto ij = nlohmann::json::parse(info.out);
  EXPECT_EQ(ij["type"], "net");
  EXPECT_EQ(ij["oci_type"], "network");
  EXPECT_EQ(ij["inode"].get<uint64_t>(), st.st_ino);
  struct stat us {};
  ASSERT_EQ(::stat("/proc/self/ns/user", &us), 0);
  EXPECT_EQ(ij["userns_inode"].get<uint64_t>(), us.st_ino);
  EXPECT_EQ(ij["owner_uid"].get<uid_t>(), 0u);

  auto rm = podns({"ns", "rm", "web"});
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_FALSE(exists(podns.netns("web")));
  auto again = podns({"ns", "rm", "web"});
  EXPECT_EQ(again.exit_code, 0) << again.err;  // idempotent
}

TEST(NsCli, SeveralTypesAndExec) {
  PODNS_REQUIRE_ROOT();
  CliEnv podns;
  auto add = podns({"ns", "add", "-t", "net", "-t", "uts", "--type", "pid", "box"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_EQ(std::count(add.out.begin(), add.out.end(), '\n'), 3);
  // In the new netns only lo exists, /sys shows that netns, and we are PID 2 of the pid namespace
  // (1 is podns's holder init).
  auto ex = podns({"ns", "exec", "box", "--", "sh", "-c", "ls /sys/class/net; echo pid=$$"});
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  EXPECT_EQ(ex.out, "lo\npid=2\n");
  auto code = podns({"ns", "exec", "box", "--", "sh", "-c", "exit 7"});
  EXPECT_EQ(code.exit_code, 7);
  auto missing = podns({"ns", "exec", "box", "--", "/nonexistent/cmd"});
  expect_one_line_error(missing, "exec /nonexistent/cmd: No such file or directory");
  // A failed exec inside the pid namespace leaves no process there (not even a zombie): the
  // failure may be reported before podns learns the process's pid, which it must still reap.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(podns({"ns", "exec", "box", "--", "/nonexistent/cmd"}).exit_code, 1);
  auto pids = podns({"ns", "pids", "box", "--type", "pid", "--json"});
  ASSERT_EQ(pids.exit_code, 0) << pids.err;
  EXPECT_EQ(nlohmann::json::parse(pids.out).size(), 1u);  // the holder
  auto rm = podns({"ns", "rm", "box"});
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  auto ls = podns({"ns", "ls", "--json"});
  EXPECT_EQ(nlohmann::json::parse(ls.out).size(), 0u);
}

TEST(NsCli, ExecBindsEtcNetnsLikeIpNetnsExec) {
  PODNS_REQUIRE_ROOT();
  CliEnv podns;
  std::string name = unique_name("pe");
  test::EtcNetnsFile hosts(name, "hosts", "10.0.0.1 inside-only\n");
  ASSERT_EQ(podns({"ns", "add", name}).exit_code, 0);
  auto ex = podns({"ns", "exec", name, "--", "cat", "/etc/hosts"});
  EXPECT_EQ(ex.exit_code, 0) << ex.err;
  EXPECT_EQ(ex.out, "10.0.0.1 inside-only\n");
  std::ifstream host("/etc/hosts");
  std::string first;
  std::getline(host, first);
  EXPECT_NE(first, "10.0.0.1 inside-only");
  EXPECT_EQ(podns({"ns", "rm", name}).exit_code, 0);
}

TEST(NsCli, IpNetnsListSeesAPodnsPin) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("ip", "iproute2");
  std::string name = unique_name("podns-a-");
  // The default run dir: the pin goes to /run/netns.
  auto add = run_podns({"ns", "add", name}, {"PODNS_RUN_DIR="});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_EQ(add.out, "/run/netns/" + name + "\n");
  struct Cleanup {
    std::string name;
    ~Cleanup() { run_podns({"ns", "rm", name}, {"PODNS_RUN_DIR="}); }
  } cleanup{name};
  auto list = run({"ip", "netns", "list"});
  ASSERT_EQ(list.exit_code, 0);
  EXPECT_NE(list.out.find(name), std::string::npos) << list.out;
  auto ipexec = run({"ip", "netns", "exec", name, "ip", "-o", "link"});
  ASSERT_EQ(ipexec.exit_code, 0) << ipexec.err;
  EXPECT_NE(ipexec.out.find("lo:"), std::string::npos);
  // `ip netns set NAME auto` assigns an nsid; podns ns ls shows it.
  ASSERT_EQ(run({"ip", "netns", "set", name, "auto"}).exit_code, 0);
  auto ls = run_podns({"ns", "ls", "--json"}, {"PODNS_RUN_DIR="});
  auto j = nlohmann::json::parse(ls.out);
  bool found = false;
  for (auto& e : j)
    if (e["name"] == name) {
      found = true;
      EXPECT_TRUE(e["nsid"].is_number()) << e.dump();
    }
  EXPECT_TRUE(found);
  auto rm = run_podns({"ns", "rm", name}, {"PODNS_RUN_DIR="});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_EQ(run({"ip", "netns", "list"}).out.find(name), std::string::npos);
}

// `ip netns add` takes any byte but '/' and NUL; nlohmann's dump() threw on the invalid UTF-8 and
// `podns ns ls --json` died of an uncaught exception. The byte comes out as U+FFFD (as `ip -j`).
TEST(NsCli, LsJsonWithAnInvalidUtf8PinName) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("ip", "iproute2");
  std::string name = unique_name("podns-u-") + "\xff";
  ASSERT_EQ(run({"ip", "netns", "add", name}).exit_code, 0);
  struct Cleanup {
    std::string name;
    ~Cleanup() { run({"ip", "netns", "del", name}); }
  } cleanup{name};
  auto ls = run_podns({"ns", "ls", "--json"}, {"PODNS_RUN_DIR="});
  EXPECT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_EQ(ls.err, "");
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(ls.out)) << ls.out;
  std::string shown = name.substr(0, name.size() - 1) + "\xef\xbf\xbd";
  bool found = false;
  for (auto& e : j)
    if (e["name"] == shown) {
      found = true;
      EXPECT_EQ(e["path"], "/run/netns/" + shown);
      EXPECT_TRUE(e["live"].get<bool>());
    }
  EXPECT_TRUE(found) << ls.out;
  // The text listing keeps the exact bytes.
  auto text = run_podns({"ns", "ls"}, {"PODNS_RUN_DIR="});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find(name), std::string::npos);
}

TEST(NsCli, AttachIdentifyPids) {
  PODNS_REQUIRE_ROOT();
  CliEnv podns;
  int ready[2];
  ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  pid_t child = ::fork();
  if (child == 0) {
    char ok = ::unshare(CLONE_NEWNET) == 0;
    (void)!::write(ready[1], &ok, 1);
    for (;;) ::pause();
  }
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  } reaper{child};
  ::close(ready[1]);
  char ok = 0;
  ASSERT_EQ(::read(ready[0], &ok, 1), 1);
  ::close(ready[0]);
  ASSERT_TRUE(ok);
  std::string pid = std::to_string(child);
  auto at = podns({"ns", "attach", "kid", pid});
  ASSERT_EQ(at.exit_code, 0) << at.err;
  EXPECT_EQ(at.out, podns.netns("kid") + "\n");
  auto id = podns({"ns", "identify", pid});
  ASSERT_EQ(id.exit_code, 0) << id.err;
  EXPECT_EQ(id.out, "kid\n");
  auto self = podns({"ns", "identify"});
  ASSERT_EQ(self.exit_code, 0) << self.err;
  EXPECT_EQ(self.out, "");
  auto pids = podns({"ns", "pids", "kid"});
  ASSERT_EQ(pids.exit_code, 0) << pids.err;
  EXPECT_EQ(pids.out, pid + "\n");
  auto rm = podns({"ns", "rm", "kid"});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_EQ(rm.out, "") << "silent, as ip netns del is";
}

// As under system(3) or a shell running `ip netns exec`: while the command runs, the terminal's
// ^C and ^\ are its business; podns stays to report how it ended (here the command sends both to
// podns itself, its parent, and exits 7).
TEST(NsCli, ExecAndUnshareOutliveTheTerminalsInterruptAndReportTheCommandsCode) {
  PODNS_REQUIRE_ROOT();
  CliEnv podns;
  ASSERT_EQ(podns({"ns", "add", "sig"}).exit_code, 0);
  const std::vector<std::string> cmd = {"sh", "-c", "kill -INT $PPID; kill -QUIT $PPID; sleep 0.1; exit 7"};
  std::vector<std::string> exec = {"ns", "exec", "sig", "--"};
  exec.insert(exec.end(), cmd.begin(), cmd.end());
  auto in_ns = podns(exec);
  EXPECT_EQ(in_ns.exit_code, 7) << in_ns.err;
  std::vector<std::string> unshare = {"unshare", "--"};
  unshare.insert(unshare.end(), cmd.begin(), cmd.end());
  auto in_session = podns(unshare);
  EXPECT_EQ(in_session.exit_code, 7) << in_session.err;
  EXPECT_EQ(podns({"ns", "rm", "sig"}).exit_code, 0);
}

// pids and info take a name the same way: the netns, else the only pin, else --type.
TEST(NsCli, PidsAndInfoPickAPinByNameAndType) {
  PODNS_REQUIRE_ROOT();
  CliEnv podns;
  ASSERT_EQ(podns({"ns", "add", "two", "--type", "ipc", "--type", "uts"}).exit_code, 0);
  expect_one_line_error(podns({"ns", "pids", "two"}), "pins of types uts, ipc share that name, choose a type");
  expect_one_line_error(podns({"ns", "info", "two"}), "choose a type");
  auto info = podns({"ns", "info", "two", "--type", "uts", "--json"});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  auto j = nlohmann::json::parse(info.out);
  EXPECT_EQ(j["type"], "uts");
  EXPECT_EQ(j["path"], podns.dir.path() + "/run/ns/uts/two");
  expect_one_line_error(podns({"ns", "info", "two", "--type", "net"}), "no such pin of type net");
  expect_one_line_error(podns({"ns", "info", "/proc/self/ns/uts", "--type", "net"}), "");
  auto pids = podns({"ns", "pids", "two", "--type", "ipc"});
  EXPECT_EQ(pids.exit_code, 0) << pids.err;
  EXPECT_EQ(pids.out, "") << "no process is in a pinned namespace nobody entered";
  EXPECT_EQ(podns({"ns", "rm", "two"}).exit_code, 0);
}

TEST(NsCli, BadNamesEachGiveOneLineAndLeaveNothing) {
  CliEnv podns;
  for (const std::string& bad : {std::string(""), std::string("."), std::string(".."), std::string("a/b"),
                                 std::string(65, 'n'), std::string("tab\there")}) {
    auto r = podns({"ns", "add", bad});
    if (bad.empty()) {
      // An empty name is given explicitly: still rejected, not replaced by a random one.
      expect_one_line_error(r, "empty");
    } else {
      expect_one_line_error(r, "invalid name");
    }
    auto rm = podns({"ns", "rm", bad});
    expect_one_line_error(rm, "invalid name");
  }
  EXPECT_FALSE(exists(podns.dir.path() + "/run/netns") &&
               !std::filesystem::is_empty(podns.dir.path() + "/run/netns"));
}

TEST(NsCli, InfoOfWrongFiles) {
  CliEnv podns;
  std::ofstream(podns.dir / "regular") << "x";
  expect_one_line_error(podns({"ns", "info", podns.dir / "regular"}), "not a namespace");
  expect_one_line_error(podns({"ns", "info", podns.dir.path()}), "not a namespace");
  expect_one_line_error(podns({"ns", "info", podns.dir / "missing"}), "No such file or directory");
  auto ok = podns({"ns", "info", "/proc/self/ns/uts", "--json"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(nlohmann::json::parse(ok.out)["type"], "uts");
}

TEST(NsCli, ExistingNameAndMissingPid) {
  PODNS_REQUIRE_ROOT();
  CliEnv podns;
  ASSERT_EQ(podns({"ns", "add", "dup"}).exit_code, 0);
  struct stat before {};
  ASSERT_EQ(::stat(podns.netns("dup").c_str(), &before), 0);
  expect_one_line_error(podns({"ns", "add", "dup"}), "already exists");
  struct stat after {};
  ASSERT_EQ(::stat(podns.netns("dup").c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);
  expect_one_line_error(podns({"ns", "attach", "dup", std::to_string(::getpid())}), "already exists");
  // A PID that does not exist: fork one and reap it.
  pid_t gone = ::fork();
  if (gone == 0) _exit(0);
  ::waitpid(gone, nullptr, 0);
  expect_one_line_error(podns({"ns", "attach", "nobody", std::to_string(gone)}), "no such process");
  EXPECT_FALSE(exists(podns.netns("nobody")));
  EXPECT_EQ(podns({"ns", "rm", "dup"}).exit_code, 0);
}

TEST(NsCli, RmOfBusyOrForeignPaths) {
  PODNS_REQUIRE_ROOT();
  CliEnv podns;
  ASSERT_EQ(podns({"ns", "add", "real"}).exit_code, 0);
  std::string dir = podns.dir.path() + "/run/netns";
  // A foreign file in the pin dir: not a pin, kept.
  std::ofstream(dir + "/notes") << "keep me";
  expect_one_line_error(podns({"ns", "rm", "notes", "--type", "net"}), "not a pin");
  EXPECT_TRUE(exists(dir + "/notes"));
  // A symlink to a file elsewhere: refused, kept.
  std::ofstream(podns.dir / "victim") << "";
  ASSERT_EQ(::symlink((podns.dir / "victim").c_str(), (dir + "/link").c_str()), 0);
  expect_one_line_error(podns({"ns", "rm", "link", "--type", "net"}), "symlink");
  EXPECT_TRUE(exists(podns.dir / "victim"));
  // Busy: something that is no namespace mounted over an (empty) pin file.
  std::ofstream(dir + "/busy") << "";
  std::ofstream(podns.dir / "cover") << "";
  ASSERT_EQ(::mount((podns.dir / "cover").c_str(), (dir + "/busy").c_str(), nullptr, MS_BIND, nullptr), 0);
  expect_one_line_error(podns({"ns", "rm", "busy", "--type", "net"}), "Device or resource busy");
  EXPECT_TRUE(exists(dir + "/busy"));
  ::umount2((dir + "/busy").c_str(), MNT_DETACH);
  EXPECT_EQ(podns({"ns", "rm", "real", "busy"}).exit_code, 0);
  EXPECT_FALSE(exists(podns.netns("real")));
}

TEST(NsCli, UnknownTypeIsAnError) {
  CliEnv podns;
  expect_one_line_error(podns({"ns", "add", "x", "--type", "bogus"}), "unknown");
  auto user = podns({"ns", "add", "x", "--type", "user"});
  EXPECT_EQ(user.exit_code, 1);
}

}  // namespace podns::test
