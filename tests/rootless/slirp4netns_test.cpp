// The slirp4netns driver against the real kernel and the real slirp4netns: readiness, published
// ports through the API, host loopback, exit-fd, records after a "restart", gc, and every failure
// rolled back. Runs as root here (item 5: root may use a rootless driver for an isolated pod);
// tests/rootless_e2e runs the same scenarios as an unprivileged user.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/mount.h>
#include <sys/un.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/syscall.h>

#include "driver_fixture.hpp"
#include "podns/rootless/driver.hpp"
#include "rootless/drivers.hpp"
#include "rootless/helper_process.hpp"
#include "rootless/slirp_api.hpp"
#include "test_support.hpp"

namespace podns::rootless {
namespace {

namespace fs = std::filesystem;
using podns::test::dir_has_files;
using podns::test::NsHolder;
using podns::test::PodUserns;
using podns::test::Server;
using podns::test::TempDir;

#define REQUIRE_SLIRP()                               \
  PODNS_REQUIRE_ROOT();                               \
  PODNS_REQUIRE_TOOL("slirp4netns", "slirp4netns");   \
  PODNS_REQUIRE_TOOL("unshare", "util-linux")

RootlessNetRequest request_for(const NsHolder& holder, const TempDir& dir, const std::string& name) {
  return podns::test::driver_request(DriverKind::slirp4netns, holder, dir, name);
}

// A fake helper: answers --help like slirp4netns, otherwise runs `body`.
std::string fake_helper(const TempDir& dir, const std::string& body) {
  std::string path = dir / "fake-slirp4netns";
  std::ofstream f(path);
  f << "#!/bin/sh\n"
       "case \"$1\" in --help) echo '--netns-type --userns-path --mtu --disable-host-loopback'; exit 0;; esac\n"
    << body << "\n";
  f.close();
  chmod(path.c_str(), 0755);
  return path;
}

TEST(Slirp4netns, ProbeFindsTheFeaturesPodmanUses) {
  REQUIRE_SLIRP();
  auto bin = detail::find_tool("slirp4netns", "slirp4netns");
  ASSERT_OK(bin);
  auto f = detail::probe_slirp4netns(*bin);
  ASSERT_OK(f);
  EXPECT_TRUE(f->sandbox);
  EXPECT_TRUE(f->seccomp);
  EXPECT_TRUE(f->netns_type);
  EXPECT_TRUE(f->userns_path);
  EXPECT_TRUE(f->disable_host_loopback);
}

TEST(Slirp4netns, ArgvHasPodmansFlags) {
  RootlessNetRequest req;
  req.netns_path = "/run/user/1000/netns/web";
  req.userns_path = "/proc/42/ns/user";
  detail::SlirpFeatures all{true, true, true, true, true, true, true};
  auto argv = detail::slirp4netns_argv("/usr/bin/slirp4netns", req, all, "/run/x.sock", 3, 4);
  std::vector<std::string> want{"/usr/bin/slirp4netns", "--configure", "--mtu=65520", "--disable-host-loopback",
                                "--enable-sandbox", "--enable-seccomp", "--ready-fd=3", "--exit-fd=4",
                                "--api-socket", "/run/x.sock", "--netns-type=path",
                                "--userns-path=/proc/42/ns/user", "/run/user/1000/netns/web", "tap0"};
  EXPECT_EQ(argv, want);
  // Without the probed features and with host loopback allowed, the flags are left out.
  req.allow_host_loopback = true;
  req.userns_path.clear();
  detail::SlirpFeatures old{false, false, true, false, true, true, false};
  argv = detail::slirp4netns_argv("slirp4netns", req, old, "/run/x.sock", 3, -1);
  want = {"slirp4netns", "--configure", "--mtu=65520", "--ready-fd=3", "--api-socket", "/run/x.sock",
          "--netns-type=path", "/run/user/1000/netns/web", "tap0"};
  EXPECT_EQ(argv, want);
  // A plain user (no CAP_SYS_ADMIN) gets seccomp but not the sandbox, which would fail to start.
  detail::SlirpFeatures user{true, true, true, true, true, true, false};
  argv = detail::slirp4netns_argv("slirp4netns", req, user, "/run/x.sock", 3, -1);
  EXPECT_EQ(std::count(argv.begin(), argv.end(), "--enable-sandbox"), 0);
  EXPECT_EQ(std::count(argv.begin(), argv.end(), "--enable-seccomp"), 1);
}

TEST(Slirp4netns, PublishedPortReachesServerInUsernsOwnedNetns) {
  REQUIRE_SLIRP();
  TempDir dir("slirp");
  NsHolder holder(PodUserns::subordinate);
  ASSERT_TRUE(holder.ok()) << holder.error();
  Server server(&holder, "0.0.0.0", 80, "hello from the userns pod\n");
  ASSERT_TRUE(server.ok());
  uint16_t host_port = podns::test::free_port();
  auto req = request_for(holder, dir, "web");
  req.forwards.push_back({"", host_port, 80, Proto::tcp, -1});
  auto net = start_rootless_net(req);
  ASSERT_OK(net);
  auto got = podns::test::fetch("127.0.0.1", host_port);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, "hello from the userns pod\n");
}

bool is_mountpoint(const std::string& path) {
  std::ifstream mi("/proc/self/mountinfo");
  for (std::string line; std::getline(mi, line);) {
    std::istringstream ls(line);
    std::string id, parent, devno, root, mountpoint;
    ls >> id >> parent >> devno >> root >> mountpoint;
    if (mountpoint == path) return true;
  }
  return false;
}

// The pod layer pins netns in a dir that is a shared mount of itself (as `ip netns` does).
// slirp4netns's sandbox (root) unmounts in its own mount namespace; without a private mount
// namespace of its own those unmounts propagated back and the pod's pins vanished.
TEST(Slirp4netns, SandboxLeavesSharedPinsAlone) {
  REQUIRE_SLIRP();
  TempDir dir("slirp");
  NsHolder holder(PodUserns::none);
  ASSERT_TRUE(holder.ok()) << holder.error();
  std::string pins = dir / "pins", pin = dir / "pins/web";
  fs::create_directories(pins);
  ASSERT_EQ(mount(pins.c_str(), pins.c_str(), nullptr, MS_BIND, nullptr), 0);
  ASSERT_EQ(mount(nullptr, pins.c_str(), nullptr, MS_PRIVATE, nullptr), 0);
  ASSERT_EQ(mount(nullptr, pins.c_str(), nullptr, MS_SHARED, nullptr), 0);
  std::ofstream(pin).close();
  ASSERT_EQ(mount(holder.netns_path().c_str(), pin.c_str(), nullptr, MS_BIND, nullptr), 0);
  auto req = request_for(holder, dir, "web");
  req.netns_path = pin;
  auto net = start_rootless_net(req);
  ASSERT_OK(net);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the sandbox is set up after ready
  EXPECT_TRUE(is_mountpoint(pin)) << "starting slirp4netns unmounted the pod's netns pin";
  EXPECT_EQ(podns::test::ns_inode(pin), podns::test::ns_inode(holder.netns_path()));
  EXPECT_OK(net->stop());
  umount2(pin.c_str(), MNT_DETACH);
  umount2(pins.c_str(), MNT_DETACH);
}

TEST(Slirp4netns, AddListRemoveForwardsThroughTheApi) {
  REQUIRE_SLIRP();
  TempDir dir("slirp");
  NsHolder holder(PodUserns::root_only);
  ASSERT_TRUE(holder.ok()) << holder.error();
  Server server(&holder, "0.0.0.0", 9000, "api forward\n");
  ASSERT_TRUE(server.ok());
  auto net = start_rootless_net(request_for(holder, dir, "api"));
  ASSERT_OK(net);
  auto none = list_forwards(net->record());
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());

  uint16_t p1 = podns::test::free_port(), p2 = podns::test::free_port();
  auto a = add_forward(net->record(), {"127.0.0.1", p1, 9000, Proto::tcp, -1});
  ASSERT_OK(a);
  auto b = add_forward(net->record(), {"", p2, 9000, Proto::tcp, -1});
  ASSERT_OK(b);
  EXPECT_NE(a->id, b->id);
  auto listed = list_forwards(net->record());
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_TRUE((*listed)[0].same_as(*a) || (*listed)[1].same_as(*a));
  EXPECT_EQ(podns::test::fetch("127.0.0.1", p1).value_or(""), "api forward\n");
  EXPECT_EQ(podns::test::fetch("127.0.0.1", p2).value_or(""), "api forward\n");

  // The same host port twice is refused before asking slirp4netns.
  auto dup = add_forward(net->record(), {"", p1, 9001, Proto::tcp, -1});
  ASSERT_FALSE(dup.has_value());
  EXPECT_TRUE(dup.error().is(Errc::already_exists)) << dup.error().message();

  ASSERT_OK(remove_forward(net->record(), *a));
  listed = list_forwards(net->record());
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_TRUE((*listed)[0].same_as(*b));
  EXPECT_FALSE(podns::test::fetch("127.0.0.1", p1, std::chrono::milliseconds(200)).has_value());
  auto gone = remove_forward(net->record(), *a);
  ASSERT_FALSE(gone.has_value());
  EXPECT_TRUE(gone.error().is(Errc::not_found));
  EXPECT_EQ(net->record().forwards.size(), 1u);
}

// The driver's host address: 10.0.2.2 reaches the host's 127.0.0.1 only with allow_host_loopback
// (no --disable-host-loopback). The server runs on the host's loopback.
TEST(Slirp4netns, HostLoopbackOnlyWhenAllowed) {
  REQUIRE_SLIRP();
  TempDir dir("slirp");
  Server host_server(nullptr, "127.0.0.1", 0, "hello from the host\n");
  ASSERT_TRUE(host_server.ok());
  {
    NsHolder holder(PodUserns::root_only);
    ASSERT_TRUE(holder.ok()) << holder.error();
    auto req = request_for(holder, dir, "closed");
    auto net = start_rootless_net(req);
    ASSERT_OK(net);
    EXPECT_FALSE(podns::test::fetch_from_pod(holder, "10.0.2.2", host_server.port(), std::chrono::milliseconds(300))
                     .has_value())
        << "the pod reached the host's loopback although it was not allowed";
  }
  NsHolder holder(PodUserns::root_only);
  ASSERT_TRUE(holder.ok()) << holder.error();
  auto req = request_for(holder, dir, "open");
  req.allow_host_loopback = true;
  auto net = start_rootless_net(req);
  ASSERT_OK(net);
  EXPECT_EQ(podns::test::fetch_from_pod(holder, "10.0.2.2", host_server.port()).value_or("(nothing)"),
            "hello from the host\n");
}

// --exit-fd: once the last copy of the write end closes, slirp4netns exits by itself.
TEST(Slirp4netns, ExitsWhenTheExitFdCloses) {
  REQUIRE_SLIRP();
  TempDir dir("slirp");
  NsHolder holder(PodUserns::root_only);
  ASSERT_TRUE(holder.ok()) << holder.error();
  auto net = start_rootless_net(request_for(holder, dir, "exitfd"));
  ASSERT_OK(net);
  UniqueFd exit_fd = net->take_exit_fd();
  ASSERT_TRUE(exit_fd);
  RootlessNetRecord rec = net->record();
  auto pidfd = fcntl(net->pidfd().get(), F_DUPFD_CLOEXEC, 3);
  UniqueFd watch(pidfd);
  (void)net->detach();
  ASSERT_TRUE(*alive(rec));
  exit_fd.reset();
  EXPECT_TRUE(detail::wait_exit(watch.view(), std::chrono::milliseconds(5000))) << "slirp4netns ignored its exit fd";
  (void)detail::reap(watch.view());
  EXPECT_FALSE(*alive(rec));
  EXPECT_OK(stop(rec));  // already gone: success, and the files go
  EXPECT_FALSE(dir_has_files(dir / "run"));
}

// After a "restart" only the record is left: alive() and stop() work from it, and a record whose
// start time does not match (a reused PID) is never signalled.
TEST(Slirp4netns, RecordAfterRestartNeverSignalsAReusedPid) {
  REQUIRE_SLIRP();
  TempDir dir("slirp");
  NsHolder holder(PodUserns::root_only);
  ASSERT_TRUE(holder.ok()) << holder.error();
  auto req = request_for(holder, dir, "restart");
  req.exit_with_handle = false;
  auto net = start_rootless_net(req);
  ASSERT_OK(net);
  RootlessNetRecord rec = record_from_json(record_to_json(net->detach())).value();
  auto is_alive = alive(rec);
  ASSERT_OK(is_alive);
  EXPECT_TRUE(*is_alive);

  RootlessNetRecord other = rec;
  other.start_time += 1;
  other.api_socket.clear();
  other.log_path.clear();
  EXPECT_FALSE(*alive(other));
  EXPECT_OK(stop(other));
  EXPECT_TRUE(podns::test::process_running(rec.pid)) << "stop() signalled a PID whose start time differs";
  auto listed = list_forwards(other);
  ASSERT_FALSE(listed.has_value());
  EXPECT_TRUE(listed.error().is(Errc::process_exited));

  EXPECT_OK(stop(rec));
  EXPECT_FALSE(*alive(rec));
  EXPECT_FALSE(podns::test::process_running(rec.pid));
  EXPECT_FALSE(fs::exists(rec.api_socket));
  EXPECT_FALSE(fs::exists(rec.log_path));
  EXPECT_OK(stop(rec));  // idempotent
}

// What inspect shows: running with the live forwards, then, once the helper died, not running
// with the end of its log.
TEST(Slirp4netns, StatusSaysWhenTheHelperDied) {
  REQUIRE_SLIRP();
  TempDir dir("slirp");
  NsHolder holder(PodUserns::root_only);
  ASSERT_TRUE(holder.ok()) << holder.error();
  auto req = request_for(holder, dir, "status");
  req.exit_with_handle = false;
  uint16_t port = podns::test::free_port();
  req.forwards.push_back({"127.0.0.1", port, 80, Proto::tcp, -1});
  auto net = start_rootless_net(req);
  ASSERT_OK(net);
  RootlessNetRecord rec = net->record();
  HelperStatus st = helper_status(rec);
  EXPECT_TRUE(st.running);
  EXPECT_EQ(st.pid, rec.pid);
  ASSERT_EQ(st.forwards.size(), 1u);
  EXPECT_EQ(format_port_forward(st.forwards[0]), fmt::format("127.0.0.1:{}:80/tcp", port));
  nlohmann::json j = st;
  EXPECT_EQ(j["driver"], "slirp4netns");
  EXPECT_EQ(j["running"], true);
  EXPECT_EQ(j["forwards"][0], fmt::format("127.0.0.1:{}:80/tcp", port));

  // The helper dies behind our back (OOM killer, a user's kill).
  ASSERT_EQ(syscall(SYS_pidfd_send_signal, net->pidfd().get(), SIGKILL, nullptr, 0), 0);
  ASSERT_TRUE(detail::wait_exit(net->pidfd(), std::chrono::milliseconds(5000)));
  st = helper_status(rec);
  EXPECT_FALSE(st.running);
  EXPECT_NE(st.last_log.find("tapfd"), std::string::npos) << st.last_log;  // the end of its log
  j = st;
  EXPECT_EQ(j["running"], false);
  EXPECT_OK(net->stop());  // reaps it and removes the files
  EXPECT_FALSE(fs::exists(rec.api_socket));
}

TEST(Slirp4netns, GcStopsOrphanedHelpersAndRemovesStaleFiles) {
  REQUIRE_SLIRP();
  TempDir dir("slirp");
  NsHolder holder(PodUserns::root_only);
  ASSERT_TRUE(holder.ok()) << holder.error();
  auto req = request_for(holder, dir, "kept");
  req.exit_with_handle = false;
  auto kept = start_rootless_net(req);
  ASSERT_OK(kept);
  RootlessNetRecord kept_rec = kept->detach();
  NsHolder holder2(PodUserns::root_only);
  ASSERT_TRUE(holder2.ok()) << holder2.error();
  auto req2 = request_for(holder2, dir, "orphan");
  req2.exit_with_handle = false;
  auto orphan = start_rootless_net(req2);
  ASSERT_OK(orphan);
  RootlessNetRecord orphan_rec = orphan->detach();
  std::ofstream(dir / "run/stale.slirp4netns.sock").put('x');
  std::ofstream(dir / "run/unrelated.txt").put('x');

  auto done = gc(req.run_dir, {kept_rec});
  ASSERT_OK(done);
  std::string all;
  for (auto& line : *done) all += line + "\n";
  EXPECT_NE(all.find(fmt::format("stopped orphaned slirp4netns pid {}", orphan_rec.pid)), std::string::npos) << all;
  EXPECT_NE(all.find("stale.slirp4netns.sock"), std::string::npos) << all;
  EXPECT_FALSE(podns::test::process_running(orphan_rec.pid));
  EXPECT_FALSE(fs::exists(orphan_rec.api_socket));
  EXPECT_TRUE(*alive(kept_rec));
  EXPECT_TRUE(fs::exists(kept_rec.api_socket));
  EXPECT_TRUE(fs::exists(dir / "run/unrelated.txt"));
  EXPECT_OK(stop(kept_rec));
}

TEST(Slirp4netns, HelperCrashingAtStartIsReportedWithItsLog) {
  PODNS_REQUIRE_ROOT();
  TempDir dir("slirp");
  NsHolder holder(PodUserns::none);
  ASSERT_TRUE(holder.ok()) << holder.error();
  auto req = request_for(holder, dir, "crash");
  req.binary = fake_helper(dir, "echo 'cannot open tap: boom' >&2; exit 3");
  auto net = start_rootless_net(req);
  ASSERT_FALSE(net.has_value());
  EXPECT_TRUE(net.error().is(Errc::plugin_failed));
  EXPECT_NE(net.error().message().find("exited with status 3 at start: cannot open tap: boom"), std::string::npos)
      << net.error().message();
  EXPECT_FALSE(dir_has_files(req.run_dir));
}

TEST(Slirp4netns, HelperThatNeverGetsReadyTimesOut) {
  PODNS_REQUIRE_ROOT();
  TempDir dir("slirp");
  NsHolder holder(PodUserns::none);
  ASSERT_TRUE(holder.ok()) << holder.error();
  auto req = request_for(holder, dir, "hang");
  req.binary = fake_helper(dir, "exec sleep 30");
  req.ready_timeout = std::chrono::milliseconds(300);
  auto start = std::chrono::steady_clock::now();
  auto net = start_rootless_net(req);
  ASSERT_FALSE(net.has_value());
  EXPECT_TRUE(net.error().is(Errc::timed_out)) << net.error().message();
  EXPECT_NE(net.error().message().find("not ready after 300 ms"), std::string::npos) << net.error().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_FALSE(dir_has_files(req.run_dir));
}

TEST(Slirp4netns, BadRequestsAreRefusedBeforeSpawning) {
  TempDir dir("slirp");
  RootlessNetRequest req;
  req.name = "ok";
  req.netns_path = "/proc/self/ns/net";
  req.run_dir = dir / "run";
  struct Case {
    std::function<void(RootlessNetRequest&)> change;
    const char* says;
  } cases[] = {
      {[](RootlessNetRequest& r) { r.name = "../evil"; }, "invalid name"},
      {[](RootlessNetRequest& r) { r.netns_path.clear(); }, "no netns path"},
      {[](RootlessNetRequest& r) { r.run_dir = "relative"; }, "is not absolute"},
      {[](RootlessNetRequest& r) { r.mtu = 70000; }, "MTU 70000"},
      {[](RootlessNetRequest& r) {
         r.forwards = {{"", 8080, 80, Proto::tcp, -1}, {"127.0.0.1", 8080, 81, Proto::tcp, -1}};
       },
       "use the same host port"},
      {[](RootlessNetRequest& r) { r.name = std::string(64, 'x'); r.run_dir = "/" + std::string(60, 'd'); },
       "longer than 107 bytes"},
  };
  for (auto& c : cases) {
    RootlessNetRequest r = req;
    c.change(r);
    auto net = start_rootless_net(r);
    ASSERT_FALSE(net.has_value()) << c.says;
    EXPECT_NE(net.error().message().find(c.says), std::string::npos) << net.error().message();
  }
  EXPECT_FALSE(dir_has_files(req.run_dir));
}

// API error paths slirp4netns cannot produce on demand: a fake API socket served by a child.
class FakeApi {
 public:
  FakeApi(const std::string& path, std::string reply) {
    listener_.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un a = {};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    if (bind(listener_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || listen(listener_.get(), 4) < 0) return;
    auto fn = [&]() -> int {
      for (;;) {
        int c = accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        char buf[4096];
        std::string req;
        ssize_t n;
        while ((n = read(c, buf, sizeof buf)) > 0) req.append(buf, static_cast<size_t>(n));  // until SHUT_WR
        if (reply != "hang") (void)!write(c, reply.data(), reply.size());
        else pause();
        close(c);
      }
    };
    auto child = clone_process(CloneOptions{}, fn);
    if (child) child_ = std::move(*child);
  }
  ~FakeApi() {
    if (child_) (void)child_.kill_and_wait();
  }

 private:
  UniqueFd listener_;
  ChildProcess child_;
};

TEST(Slirp4netnsApi, ErrorsAreClear) {
  TempDir dir("api");
  struct Case {
    std::string reply;
    Errc code;
    const char* says;
  } cases[] = {
      {R"({"error":{"desc":"bad request: add_hostfwd: slirp_add_hostfwd failed"}})", Errc::plugin_failed,
       "slirp4netns API add_hostfwd: bad request: add_hostfwd: slirp_add_hostfwd failed"},
      {"not json", Errc::corrupt, "unparseable reply \"not json\""},
      {R"({"something":1})", Errc::corrupt, "neither return nor error"},
      {R"({"return":{}})", Errc::corrupt, "reply without an id"},
      {"", Errc::corrupt, "unparseable reply"},
  };
  int i = 0;
  for (auto& c : cases) {
    std::string path = dir / ("api" + std::to_string(i++) + ".sock");
    FakeApi api(path, c.reply);
    auto id = detail::slirp_add_hostfwd(path, {"", 8080, 80, Proto::tcp, -1});
    ASSERT_FALSE(id.has_value()) << c.reply;
    EXPECT_TRUE(id.error().is(c.code)) << id.error().message();
    EXPECT_NE(id.error().message().find(c.says), std::string::npos) << id.error().message();
  }
  // A helper that never answers: the deadline ends the wait.
  std::string path = dir / "hang.sock";
  FakeApi api(path, "hang");
  auto r = detail::slirp_api_call(path, {{"execute", "list_hostfwd"}}, std::chrono::milliseconds(200));
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().is(Errc::timed_out)) << r.error().message();
  // Nobody listening.
  auto none = detail::slirp_list_hostfwd(dir / "nobody.sock");
  ASSERT_FALSE(none.has_value());
  EXPECT_NE(none.error().message().find("connect " + dir / "nobody.sock"), std::string::npos);
}

// A reply nested far deeper than any slirp4netns answer (but under the 1 MiB reply limit) is
// refused when it is parsed: printing it in the error message recursed once per level and
// overflowed the stack.
TEST(Slirp4netnsApi, DeeplyNestedReplyIsRefusedClearly) {
  TempDir dir("api");
  constexpr int kDepth = 400000;
  std::string path = dir / "deep.sock";
  FakeApi api(path, R"({"error":)" + std::string(kDepth, '[') + std::string(kDepth, ']') + "}");
  auto r = detail::slirp_api_call(path, {{"execute", "list_hostfwd"}});
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().is(Errc::corrupt)) << r.error().message().substr(0, 300);
  EXPECT_NE(r.error().message().find("nested deeper than 64 levels"), std::string::npos)
      << r.error().message().substr(0, 300);
}

TEST(Slirp4netnsApi, ListParsesEntries) {
  TempDir dir("api");
  std::string path = dir / "list.sock";
  // The form slirp4netns 1.x sends: no "return" wrapper around "entries".
  FakeApi api(path, R"({"entries":[{"id":1,"proto":"tcp","host_addr":"0.0.0.0","host_port":8080,)"
                    R"("guest_addr":"10.0.2.100","guest_port":80},{"id":2,"proto":"udp","host_addr":"127.0.0.1",)"
                    R"("host_port":5353,"guest_addr":"10.0.2.100","guest_port":53}]})");
  auto list = detail::slirp_list_hostfwd(path);
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ(format_port_forward((*list)[0]), "8080:80/tcp");
  EXPECT_EQ((*list)[0].id, 1);
  EXPECT_EQ(format_port_forward((*list)[1]), "127.0.0.1:5353:53/udp");
}

}  // namespace
}  // namespace podns::rootless
