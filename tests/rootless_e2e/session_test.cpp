// The rootless session end to end, through the CLI, as the real unprivileged user `podns-test`
// (scripts/test-setup.sh): each RootlessSession.X test (root, under ctest) re-runs this binary as
// that user with a private XDG_RUNTIME_DIR and XDG_DATA_HOME and the filter SessionInner.X, then
// checks that the scenario ran and passed and that no session is left. The inner scenarios skip
// unless started that way.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "../rootless/pod_fixture.hpp"
#include "podns/rootless/driver.hpp"
#include "podns/rootless/session.hpp"
#include "podns/spawn.hpp"
#include "test_support.hpp"
#include "test_user.hpp"

namespace podns::rootless {
namespace {

namespace fs = std::filesystem;
using podns::test::read_text;
using podns::test::CommandResult;

constexpr const char* kInnerFlag = "PODNS_E2E_SESSION_AS_USER";

bool inner() { return podns::test::is_inner_run(kInnerFlag); }

#define SESSION_INNER_ONLY() \
  if (!inner()) GTEST_SKIP() << "runs as the unprivileged user under RootlessSession.* (" << kInnerFlag << "=1)"

// A pause process recorded in `pid_file` that is really ours (comm and start time), or 0.
pid_t recorded_pause(const std::string& pid_file) {
  std::istringstream ss(read_text(pid_file));
  pid_t pid = 0;
  uint64_t start = 0;
  if (!(ss >> pid >> start) || pid <= 0) return 0;
  std::istringstream stat(read_text(fmt::format("/proc/{}/stat", pid)));
  std::string all = stat.str();
  auto close = all.rfind(')');
  if (close == std::string::npos || read_text(fmt::format("/proc/{}/comm", pid)) != std::string(kPauseComm) + "\n")
    return 0;
  std::istringstream rest(all.substr(close + 2));
  std::string field;
  for (int i = 3; i < 22; ++i) rest >> field;
  uint64_t have = 0;
  rest >> have;
  return have == start ? pid : 0;
}

bool is_helper(const std::string& comm) {
  return comm == kPauseComm || comm == "slirp4netns" || comm.rfind("pasta", 0) == 0 || comm.rfind("passt", 0) == 0;
}

// Our children that are helpers (pause, slirp4netns, pasta), with their state letter ("Z": zombie).
std::vector<std::pair<pid_t, std::string>> helper_children() {
  std::vector<std::pair<pid_t, std::string>> out;
  std::string self = std::to_string(getpid());
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string pid = e.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = read_text("/proc/" + pid + "/stat");
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::string comm = stat.substr(stat.find('(') + 1, close - stat.find('(') - 1);
    std::istringstream rest(stat.substr(close + 2));
    std::string state, ppid;
    rest >> state >> ppid;
    if (ppid == self && is_helper(comm)) out.emplace_back(std::stoi(pid), state);
  }
  return out;
}

bool has_helper_children() { return !helper_children().empty(); }

// The inner scenarios are child subreapers (Cleanup): the detached pause process and helpers are
// reparented to them rather than to init, which on some hosts reaps only now and then. Reap
// those (and only those: a ChildProcess the scenario waits for itself is left alone) once dead.
void reap_helper_zombies() {
  if (!inner()) return;
  for (const auto& [pid, state] : helper_children())
    if (state == "Z") waitpid(pid, nullptr, WNOHANG);
}

bool wait_gone(pid_t pid, int ms = 3000) {
  for (int i = 0; i < ms / 10 && podns::test::process_running(pid); ++i) {
    reap_helper_zombies();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  reap_helper_zombies();
  return !podns::test::process_running(pid);
}

// Run SessionInner.<name> as podns-test; afterwards no session of its run dir may be left (a
// failed scenario's session is stopped here, the recorded process only).
void run_as_user(const std::string& name) {
  PODNS_REQUIRE_TOOL("newuidmap", "uidmap");
  std::error_code ec;
  podns::test::RerunAsTestUser how{.filter = "SessionInner." + name,
                                   .inner_flag = kInnerFlag,
                                   .private_data_home = true,
                                   .extra_env = {"PODNS_TEST_CWD=" + fs::current_path(ec).string()}};
  podns::test::rerun_as_test_user(how, [](const std::string& xdg) {
    std::string pid_file = xdg + "/podns/pause.pid";
    if (pid_t left = recorded_pause(pid_file)) {
      ADD_FAILURE() << "session left running: pause pid " << left;
      kill(left, SIGKILL);
      wait_gone(left);
    }
    EXPECT_FALSE(fs::exists(pid_file)) << "pause.pid left behind";
    std::error_code ec;
    fs::path rootless = xdg + "/podns/rootless";
    EXPECT_TRUE(!fs::exists(rootless, ec) || fs::is_empty(rootless, ec)) << "helper files left in " << rootless;
  });
}

TEST(RootlessSession, Slirp4netnsPodThroughTheCli) { run_as_user("Slirp4netnsPod"); }
TEST(RootlessSession, PastaPodThroughTheCli) { run_as_user("PastaPod"); }
TEST(RootlessSession, ConcurrentFirstCommandsStartOneSession) { run_as_user("ConcurrentFirstCommands"); }
TEST(RootlessSession, Unshare) { run_as_user("Unshare"); }
TEST(RootlessSession, KilledPauseProcessIsRecovered) { run_as_user("KilledPause"); }
TEST(RootlessSession, StalePidFileIsReplacedNeverSignalled) { run_as_user("StalePidFile"); }
TEST(RootlessSession, UserWithoutSubordinateIds) { run_as_user("NoSubids"); }
TEST(RootlessSession, StopVerb) { run_as_user("StopVerb"); }
TEST(RootlessSession, CreateKilledAtTheHelperPointsThenGcLeavesNothing) { run_as_user("HelperKillPoints"); }

// Root needs no session: unshare just runs the command, status says so, stop does nothing.
TEST(RootlessSession, RootJustRuns) {
  PODNS_REQUIRE_ROOT();
  podns::test::TempDir dir("sroot");
  std::vector<std::string> env = {"PODNS_RUN_DIR=" + dir / "run", "PODNS_STATE_DIR=" + dir / "state"};
  auto map = podns::test::run_podns({"unshare", "--", "cat", "/proc/self/uid_map"}, env);
  EXPECT_EQ(map.exit_code, 0) << map.err;
  EXPECT_EQ(parse_kernel_idmap(map.out).value_or(IdMap{}), (IdMap{{0, 0, 4294967295u}})) << map.out;
  EXPECT_EQ(podns::test::run_podns({"unshare", "--", "sh", "-c", "exit 3"}, env).exit_code, 3);
  EXPECT_EQ(podns::test::run_podns({"session", "status"}, env).out, "root needs no session\n");
  EXPECT_EQ(podns::test::run_podns({"session", "stop"}, env).exit_code, 0);
  EXPECT_FALSE(fs::exists(dir / "run/pause.pid"));
}

// The lock fd handed to the re-exec'd CLI is checked, never trusted.
TEST(RootlessSession, BadHandedLockFd) {
  PODNS_REQUIRE_ROOT();
  podns::test::TempDir dir("sbad");
  std::vector<std::string> env = {"PODNS_RUN_DIR=" + dir / "run", "PODNS_STATE_DIR=" + dir / "state"};
  auto garbage = podns::test::run_podns({"pod", "ls"}, {env[0], env[1], "PODNS_SESSION_LOCK_FD=abc"});
  EXPECT_EQ(garbage.exit_code, 1);
  EXPECT_NE(garbage.err.find("PODNS_SESSION_LOCK_FD=abc: not an fd"), std::string::npos) << garbage.err;
  // fd 0 is open but is no session lock.
  auto other = podns::test::run_podns({"pod", "ls"}, {env[0], env[1], "PODNS_SESSION_LOCK_FD=0"});
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_NE(other.err.find("not an fd"), std::string::npos) << other.err;
  // Some other fd (or none) at 3.
  auto wrong = podns::test::run_podns({"pod", "ls"}, {env[0], env[1], "PODNS_SESSION_LOCK_FD=3"});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("fd 3"), std::string::npos) << wrong.err;
}

// --- the inner scenarios (as podns-test) -----------------------------------------------------------

std::string run_dir() { return std::string(std::getenv("XDG_RUNTIME_DIR")) + "/podns"; }
std::string pid_file() { return run_dir() + "/pause.pid"; }

CommandResult podns(const std::vector<std::string>& args) { return podns::test::run_podns(args); }

// Pods made by a scenario; whatever a failure left is removed, then the session stopped.
class Cleanup {
 public:
  Cleanup() { prctl(PR_SET_CHILD_SUBREAPER, 1); }
  ~Cleanup() {
    for (auto& p : pods_) (void)podns({"pod", "rm", p});
    (void)podns({"session", "stop", "--force"});
    if (pid_t p = recorded_pause(pid_file())) wait_gone(p);
    // Helpers stopped by the commands above exit asynchronously: reap them as they go.
    for (int i = 0; i < 300 && has_helper_children(); ++i) {
      reap_helper_zombies();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  std::string pod(const std::string& prefix) {
    pods_.push_back(podns::test::unique_name(prefix));
    return pods_.back();
  }

 private:
  std::vector<std::string> pods_;
};

// One connection's worth of server in the pod: `podns pod exec POD -- busybox nc -l -p 80 -e echo
// MSG` (timeout: it never outlives the test even if nobody connects).
ChildProcess serve_once_in_pod(const std::string& pod, const std::string& msg) {
  SpawnRequest req;
  req.argv = {podns::test::podns_cli(), "pod", "exec", pod, "--", "timeout", "20", "busybox", "nc", "-l", "-p", "80",
              "-e", "echo", msg};
  auto child = spawn(req);
  EXPECT_TRUE(child.has_value()) << child.error().message();
  return child ? std::move(*child) : ChildProcess();
}

bool wait_pid_file_gone(int ms = 3000) {
  for (int i = 0; i < ms / 10 && fs::exists(pid_file()); ++i) {
    reap_helper_zombies();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  reap_helper_zombies();
  return !fs::exists(pid_file());
}

// create -p, a server in the pod reached on 127.0.0.1, inspect names driver + pid, rm: no helper,
// no socket, no pin, no pause process.
void pod_round_trip(DriverKind kind) {
  Cleanup cleanup;
  std::string name = cleanup.pod(kind == DriverKind::pasta ? "sp" : "ss");
  uint16_t port = podns::test::free_port();
  auto created = podns({"pod", "create", name, "--rootless-net", std::string(driver_name(kind)), "-p",
                        fmt::format("127.0.0.1:{}:80", port)});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  pid_t pause = recorded_pause(pid_file());
  ASSERT_GT(pause, 0) << "no session after pod create";
  {
    std::string msg = fmt::format("{}-pod-says-hi", driver_name(kind));
    ChildProcess server = serve_once_in_pod(name, msg);
    EXPECT_EQ(podns::test::fetch("127.0.0.1", port, std::chrono::milliseconds(8000)).value_or("(nothing)"),
              msg + "\n");
    auto code = server.wait();
    EXPECT_TRUE(code && *code == 0) << "server in the pod: " << (code ? *code : -1);
  }

  auto inspect = podns({"pod", "inspect", name, "--json"});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  auto j = nlohmann::json::parse(inspect.out, nullptr, false);
  ASSERT_TRUE(j.is_object() && j.contains("helpers") && j["helpers"].size() == 1) << inspect.out;
  EXPECT_EQ(j["helpers"][0].value("kind", ""), driver_name(kind));
  pid_t helper = j["helpers"][0].value("pid", 0);
  ASSERT_GT(helper, 0);
  EXPECT_TRUE(podns::test::process_running(helper));
  // The pins are the session's: bind mounts in its mount namespace, under the user's run dir.
  // (Host mounts propagate in too: other tests' pins. Count ours only.)
  auto pins = podns({"unshare", "--", "sh", "-c", "grep ' nsfs ' /proc/self/mountinfo | grep -c \" " + run_dir() + "/\""});
  EXPECT_EQ(pins.exit_code, 0) << pins.err;
  EXPECT_EQ(pins.out, "3\n") << "net, ipc and uts pins in the session";

  auto rm = podns({"pod", "rm", name});
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_TRUE(wait_gone(helper)) << driver_name(kind) << " still running after pod rm";
  EXPECT_TRUE(wait_pid_file_gone()) << "the session outlived its last pod";
  EXPECT_TRUE(wait_gone(pause)) << "pause process still running after the last pod went";
  EXPECT_FALSE(fs::exists(run_dir() + "/netns/" + name)) << "pin file left";
}

TEST(SessionInner, Slirp4netnsPod) {
  SESSION_INNER_ONLY();
  pod_round_trip(DriverKind::slirp4netns);
}

TEST(SessionInner, PastaPod) {
  SESSION_INNER_ONLY();
  pod_round_trip(DriverKind::pasta);
}

// Several first commands at once: one pause process, every command in its namespaces.
TEST(SessionInner, ConcurrentFirstCommands) {
  SESSION_INNER_ONLY();
  Cleanup cleanup;
  constexpr int kCommands = 6;
  std::vector<std::thread> threads;
  std::vector<CommandResult> results(kCommands);
  for (int i = 0; i < kCommands; ++i)
    threads.emplace_back([&, i] {
      // Each holds the session for a second, so all of them overlap.
      results[i] = podns({"unshare", "--", "sh", "-c", "readlink /proc/self/ns/user; cat \"$PODNS_RUN_DIR/pause.pid\"; sleep 1"});
    });
  for (auto& t : threads) t.join();
  std::set<std::string> seen;
  for (auto& r : results) {
    EXPECT_EQ(r.exit_code, 0) << r.err;
    seen.insert(r.out);
  }
  EXPECT_EQ(seen.size(), 1u) << "more than one session started:\n" << fmt::format("{}", fmt::join(seen, "---\n"));
  // The last one out stopped it.
  EXPECT_TRUE(wait_pid_file_gone());
}

TEST(SessionInner, Unshare) {
  SESSION_INNER_ONLY();
  Cleanup cleanup;
  // The mapping: 0 -> us, 1.. -> our /etc/subuid range.
  auto map = podns({"unshare", "--", "cat", "/proc/self/uid_map"});
  ASSERT_EQ(map.exit_code, 0) << map.err;
  auto lines = podns::parse_kernel_idmap(map.out);
  ASSERT_TRUE(lines.has_value()) << map.out;
  ASSERT_EQ(lines->size(), 2u) << map.out;
  EXPECT_EQ((*lines)[0], (IdMapRange{0, static_cast<uint32_t>(getuid()), 1})) << map.out;
  EXPECT_EQ((*lines)[1], (IdMapRange{1, 2000000, 65536})) << map.out;
  auto id = podns({"unshare", "--", "id", "-u"});
  EXPECT_EQ(id.out, "0\n") << id.err;
  // The exit code is the command's; the working directory is kept across the mount ns switch.
  EXPECT_EQ(podns({"unshare", "--", "sh", "-c", "exit 7"}).exit_code, 7);
  std::error_code ec;
  EXPECT_EQ(podns({"unshare", "--", "pwd"}).out, fs::current_path(ec).string() + "\n");
  // A nested podns is inside already (a no-op join) and keeps the user's dirs.
  std::string name = cleanup.pod("su");
  auto nested = podns({"unshare", "--", podns::test::podns_cli(), "pod", "create", name, "--rootless-net", "slirp4netns"});
  ASSERT_EQ(nested.exit_code, 0) << nested.err;
  auto ls = podns({"pod", "ls", "--json"});
  EXPECT_NE(ls.out.find(name), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find(run_dir() + "/netns/" + name), std::string::npos) << ls.out;
  // The spec a runtime run through `podns unshare` gets: paths it can join from inside.
  auto spec = podns({"pod", "oci-spec", name});
  ASSERT_EQ(spec.exit_code, 0) << spec.err;
  auto joined = podns({"unshare", "--", "nsenter", "--net=" + run_dir() + "/netns/" + name, "ip", "-o", "link"});
  EXPECT_EQ(joined.exit_code, 0) << joined.err;
  EXPECT_NE(joined.out.find("tap0"), std::string::npos) << joined.out;
  // A per-pod user namespace nested in the session's: from the session's own ids (auto).
  std::string nested_userns = cleanup.pod("sn");
  auto un = podns({"pod", "create", nested_userns, "--rootless-net", "slirp4netns", "--userns", "auto"});
  ASSERT_EQ(un.exit_code, 0) << un.err;
  auto insp = podns({"pod", "inspect", nested_userns});
  EXPECT_NE(insp.out.find("uid map:  0 -> 1 (65536 ids)"), std::string::npos) << insp.out;
  EXPECT_EQ(podns({"pod", "rm", nested_userns, name}).exit_code, 0);
  EXPECT_TRUE(wait_pid_file_gone());
}

// The pause process killed under live pods: the next command starts a new session, the pods
// are reported broken, and pod rm / gc remove them fully.
TEST(SessionInner, KilledPause) {
  SESSION_INNER_ONLY();
  Cleanup cleanup;
  std::string a = cleanup.pod("ka"), b = cleanup.pod("kb");
  ASSERT_EQ(podns({"pod", "create", a, "--rootless-net", "slirp4netns"}).exit_code, 0);
  // No --rootless-net: a user's pod gets pasta (as podman 5), not the bridge it cannot have.
  ASSERT_EQ(podns({"pod", "create", b}).exit_code, 0);
  pid_t pause = recorded_pause(pid_file());
  ASSERT_GT(pause, 0);
  auto ia = nlohmann::json::parse(podns({"pod", "inspect", a, "--json"}).out, nullptr, false);
  auto ib = nlohmann::json::parse(podns({"pod", "inspect", b, "--json"}).out, nullptr, false);
  ASSERT_TRUE(ia.is_object() && ib.is_object());
  pid_t helper_a = ia["helpers"][0].value("pid", 0), helper_b = ib["helpers"][0].value("pid", 0);
  EXPECT_EQ(ib["helpers"][0].value("kind", ""), "pasta") << ib.dump();
  ASSERT_EQ(kill(pause, SIGKILL), 0);
  ASSERT_TRUE(wait_gone(pause));

  auto inspect = podns({"pod", "inspect", a});
  EXPECT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_NE(inspect.out.find("gone"), std::string::npos) << "a pod whose pins died is not reported:\n" << inspect.out;
  // inspect ran in a new session, which it stopped again: nothing is pinned in it.
  EXPECT_TRUE(wait_pid_file_gone());

  auto rm = podns({"pod", "rm", a});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_TRUE(wait_gone(helper_a)) << "slirp4netns of the broken pod left running";
  auto gc = podns({"gc"});
  EXPECT_EQ(gc.exit_code, 0) << gc.out << gc.err;
  EXPECT_NE(gc.out.find(b), std::string::npos) << gc.out;
  EXPECT_TRUE(wait_gone(helper_b)) << "pasta of the broken pod left running";
  auto ls = podns({"pod", "ls", "--json"});
  EXPECT_EQ(ls.out.find(a), std::string::npos) << ls.out;
  EXPECT_EQ(ls.out.find(b), std::string::npos) << ls.out;
  EXPECT_TRUE(wait_pid_file_gone());
}

// A pid file naming a dead PID, a live process of another start time, or a live process of the
// right start time that is no pause process: replaced, and nothing signalled.
TEST(SessionInner, StalePidFile) {
  SESSION_INNER_ONLY();
  Cleanup cleanup;
  ASSERT_EQ(mkdir(run_dir().c_str(), 0700) == 0 || errno == EEXIST, true);
  SpawnRequest req;
  req.argv = {"sleep", "30"};
  auto sleeper = spawn(req);
  ASSERT_OK(sleeper);
  pid_t pid = sleeper->pid();
  std::istringstream st(read_text(fmt::format("/proc/{}/stat", pid)));
  std::string all = st.str();
  std::istringstream rest(all.substr(all.rfind(')') + 2));
  std::string field;
  for (int i = 3; i < 22; ++i) rest >> field;
  uint64_t start = 0;
  rest >> start;
  ASSERT_GT(start, 0u);
  for (std::string content : {fmt::format("{} {}\n", pid, start + 12345),  // reused PID
                              fmt::format("{} {}\n", pid, start),          // right age, not a pause process
                              std::string("4194304 1\n"),                  // no such PID
                              std::string("garbage\n")}) {
    {
      std::ofstream f(pid_file());
      f << content;
    }
    auto r = podns({"unshare", "--", "cat", "/proc/self/uid_map"});
    EXPECT_EQ(r.exit_code, 0) << content << r.err;
    EXPECT_TRUE(podns::test::process_running(pid)) << "signalled the process a stale pid file named: " << content;
    EXPECT_TRUE(wait_pid_file_gone()) << content;  // the new session stopped when unshare ended
  }
  EXPECT_OK(sleeper->kill_and_wait());
}

// No /etc/subuid entry: the session maps the user alone (0 -> uid, setgroups deny), and pods
// still work in it.
TEST(SessionInner, NoSubids) {
  SESSION_INNER_ONLY();
  Cleanup cleanup;
  podns::test::TempDir files("subids");
  {
    std::ofstream(files / "subuid") << "someoneelse:3000000:65536\n";
    std::ofstream(files / "subgid") << "";
  }
  auto maps = session_idmappings({files / "subuid", files / "subgid"});
  ASSERT_OK(maps);
  EXPECT_EQ(maps->uid, (IdMap{{0, static_cast<uint32_t>(getuid()), 1}}));
  EXPECT_EQ(maps->gid, (IdMap{{0, static_cast<uint32_t>(getgid()), 1}}));
  EXPECT_EQ(maps->setgroups, SetGroups::deny);
  SessionOptions o;
  o.run_dir = run_dir();
  o.subid_files = {files / "subuid", files / "subgid"};
  auto session = ensure_session(o);
  ASSERT_OK(session);
  EXPECT_EQ(parse_kernel_idmap(session->uid_map).value_or(IdMap{}), maps->uid) << session->uid_map;
  // The CLI finds that session and works in it.
  auto map = podns({"unshare", "--", "sh", "-c", "cat /proc/self/uid_map /proc/self/setgroups"});
  EXPECT_EQ(map.exit_code, 0) << map.err;
  EXPECT_NE(map.out.find("deny"), std::string::npos) << map.out;
  EXPECT_EQ(parse_kernel_idmap(map.out.substr(0, map.out.find("deny"))).value_or(IdMap{}), maps->uid) << map.out;
  // `unshare` ended with nothing pinned: the session it found was stopped.
  EXPECT_TRUE(wait_pid_file_gone());
  EXPECT_TRUE(wait_gone(session->pid));
  auto again = ensure_session(o);
  ASSERT_OK(again);
  std::string name = cleanup.pod("sa");
  uint16_t port = podns::test::free_port();
  auto created = podns({"pod", "create", name, "--rootless-net", "slirp4netns", "-p", fmt::format("127.0.0.1:{}:80", port)});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  {
    ChildProcess server = serve_once_in_pod(name, "alone");
    EXPECT_EQ(podns::test::fetch("127.0.0.1", port, std::chrono::milliseconds(8000)).value_or("(nothing)"), "alone\n");
    (void)server.wait();
  }
  EXPECT_EQ(podns({"pod", "rm", name}).exit_code, 0);
  EXPECT_TRUE(wait_pid_file_gone());
}

// podns session status / stop: refused while a pod exists, --force stops it (the pod becomes
// broken and pod rm removes it); stopping no session is fine.
TEST(SessionInner, StopVerb) {
  SESSION_INNER_ONLY();
  Cleanup cleanup;
  EXPECT_EQ(podns({"session", "status"}).out, "no session\n");
  EXPECT_EQ(podns({"session", "stop"}).exit_code, 0);
  std::string name = cleanup.pod("sv");
  ASSERT_EQ(podns({"pod", "create", name, "--rootless-net", "slirp4netns"}).exit_code, 0);
  auto status = podns({"session", "status", "--json"});
  auto j = nlohmann::json::parse(status.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << status.out;
  EXPECT_TRUE(j.value("running", false));
  pid_t pause = j["session"].value("pid", 0);
  EXPECT_EQ(pause, recorded_pause(pid_file()));
  EXPECT_NE(j["session"].value("uidMap", "").find("2000000"), std::string::npos) << status.out;

  auto refused = podns({"session", "stop"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("namespace(s) pinned"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--force"), std::string::npos) << refused.err;
  EXPECT_TRUE(podns::test::process_running(pause));

  auto forced = podns({"session", "stop", "--force"});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_NE(forced.out.find(fmt::format("stopped pause process {}", pause)), std::string::npos) << forced.out;
  EXPECT_TRUE(wait_gone(pause));
  EXPECT_FALSE(fs::exists(pid_file()));
  EXPECT_EQ(podns({"pod", "rm", name}).exit_code, 0);
  EXPECT_TRUE(wait_pid_file_gone());
}

// `pod create` SIGKILLed (podns-faulty) after the helper intent is recorded, and after the helper
// started but before its record was committed: gc (or pod rm) rolls the pod back and stops the
// helper no record names; no helper, pin or state row is left, and the session ends with its last
// pin.
TEST(SessionInner, HelperKillPoints) {
  SESSION_INNER_ONLY();
  Cleanup cleanup;
  for (const char* driver : {"slirp4netns", "pasta"}) {
    for (const char* point : {"create.helper-intent", "create.helper-started"}) {
      std::string name = cleanup.pod("hk");
      auto r = podns::test::run_podns_faulty({"pod", "create", name, "--rootless-net", driver},
                                             {std::string("PODNS_TEST_KILL_POINT=") + point});
      ASSERT_EQ(r.exit_code, 128 + 9) << driver << " " << point << " not reached: " << r.err;
      auto running = podns::test::rootless_helpers_under(run_dir() + "/rootless");
      EXPECT_EQ(running.size(), std::string(point) == "create.helper-started" ? 1u : 0u) << driver << " " << point;
      auto gc = podns({"gc"});
      EXPECT_EQ(gc.exit_code, 0) << gc.err;
      EXPECT_NE(gc.out.find("pod " + name + ": create interrupted, rolled back"), std::string::npos) << gc.out;
      for (pid_t pid : running) EXPECT_TRUE(wait_gone(pid)) << driver << " pid " << pid << " left running";
      EXPECT_TRUE(podns::test::rootless_helpers_under(run_dir() + "/rootless").empty());
      EXPECT_EQ(podns({"pod", "ls", "--json"}).out, "[]\n") << "state row left";
      EXPECT_FALSE(fs::exists(run_dir() + "/netns/" + name)) << "pin file left";
      EXPECT_TRUE(wait_pid_file_gone()) << "the session outlived the last pin";
    }
  }
  // `pod rm` instead of gc stops the unrecorded helper too.
  std::string name = cleanup.pod("hk");
  auto r = podns::test::run_podns_faulty({"pod", "create", name, "--rootless-net", "slirp4netns"},
                                         {"PODNS_TEST_KILL_POINT=create.helper-started"});
  ASSERT_EQ(r.exit_code, 128 + 9) << r.err;
  auto running = podns::test::rootless_helpers_under(run_dir() + "/rootless");
  ASSERT_EQ(running.size(), 1u);
  auto rm = podns({"pod", "rm", name});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_TRUE(wait_gone(running[0])) << "slirp4netns pid " << running[0] << " left running";
  EXPECT_EQ(podns({"gc"}).out, "") << "pod rm left this for gc";
  EXPECT_TRUE(wait_pid_file_gone()) << "the session outlived the last pin";
}

}  // namespace
}  // namespace podns::rootless
