// run_in_namespace keeps no namespace alive: once a netns is unpinned and its last fd closed, it
// goes (the kernel destroys its devices, so the host end of a veth into it disappears), even while
// a thread that ran inside it is still alive.
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fcntl.h>
#include <functional>
#include <thread>

#include "ns_test_util.hpp"
#include "podns/pin.hpp"
#include "podns/run_in_ns.hpp"
#include "test_support.hpp"

namespace podns {
using test::TestPaths;

namespace {

// A thread that runs `work` and then stays alive until released: whatever it still holds, it holds
// while the test looks.
class LingeringThread {
 public:
  explicit LingeringThread(std::function<void()> work)
      : thread_([this, work = std::move(work)] {
          work();
          done_ = true;
          while (!release_) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }) {
    while (!done_) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~LingeringThread() {
    release_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> done_{false}, release_{false};
  std::thread thread_;
};

// Netns teardown runs in a kernel workqueue: poll for the veth's host end to go.
bool gone_within(const std::string& ifname, std::chrono::seconds limit) {
  return test::eventually([&] { return ::if_nametoindex(ifname.c_str()) == 0; }, limit);
}

// A pinned netns with a veth whose peer is inside it; the host end is how the test sees it go.
struct PodNetns {
  std::string name;
  std::string host_if = test::unique_name("vh");
  Result<PinnedNamespace> pin;
  bool veth = false;
  PodNetns(const Paths& paths, std::string n) : name(std::move(n)), pin(create_pinned(paths, NamespaceType::net, name)) {
    if (!pin) return;
    auto r = test::run({"ip", "link", "add", host_if, "type", "veth", "peer", "name", test::unique_name("vp"),
                        "netns", pin->path});
    veth = r.exit_code == 0;
    EXPECT_TRUE(veth) << r.err;
  }
  ~PodNetns() {
    if (::if_nametoindex(host_if.c_str()) != 0) (void)test::run({"ip", "link", "del", host_if});
  }
};

}  // namespace

TEST(RunInNamespaceLifetime, ANestedCallKeepsNoNetnsAlive) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("ip", "iproute2");
  TestPaths t;
  PodNetns outer(t.paths, "outer");
  ASSERT_TRUE(outer.pin && outer.veth);
  auto inner = create_pinned(t.paths, NamespaceType::net, "inner");
  ASSERT_OK(inner);
  Status ran;
  std::optional<LingeringThread> worker;
  {
    auto a = Namespace::open_path(outer.pin->path, NamespaceType::net);
    auto b = Namespace::open_path(inner->path, NamespaceType::net);
    ASSERT_OK(a);
    ASSERT_OK(b);
    // Inside the outer netns, a call into the inner one: the outer is that call's home.
    worker.emplace([&] { ran = run_in_namespace(*a, [&] { return run_in_namespace(*b, [] {}); }); });
  }
  ASSERT_OK(ran);
  ASSERT_OK(remove_pinned(t.paths, "outer"));
  EXPECT_TRUE(gone_within(outer.host_if, std::chrono::seconds(30)))
      << "the netns outlived its pin while the thread that ran in it lives on";
  worker.reset();
  ASSERT_OK(remove_pinned(t.paths, "inner"));
}

TEST(RunInNamespaceLifetime, AThreadTheCallerMovedKeepsNoNetnsAlive) {
  PODNS_REQUIRE_ROOT();
  PODNS_REQUIRE_TOOL("ip", "iproute2");
  TestPaths t;
  PodNetns pod(t.paths, "pod");
  ASSERT_TRUE(pod.pin && pod.veth);
  auto other = create_pinned(t.paths, NamespaceType::net, "other");
  ASSERT_OK(other);
  Status ran;
  bool moved = false, back = false;
  std::optional<LingeringThread> worker;
  {
    auto a = Namespace::open_path(pod.pin->path, NamespaceType::net);
    auto b = Namespace::open_path(other->path, NamespaceType::net);
    ASSERT_OK(a);
    ASSERT_OK(b);
    // The caller moves its thread into the pod's netns itself (as a runtime using setns does),
    // calls podns from there, and moves back.
    worker.emplace([&] {
      UniqueFd home(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
      moved = ::setns(a->fd().get(), CLONE_NEWNET) == 0;
      ran = run_in_namespace(*b, [] {});
      back = ::setns(home.get(), CLONE_NEWNET) == 0;
    });
  }
  ASSERT_TRUE(moved && back);
  ASSERT_OK(ran);
  ASSERT_OK(remove_pinned(t.paths, "pod"));
  EXPECT_TRUE(gone_within(pod.host_if, std::chrono::seconds(30)))
      << "the netns outlived its pin while the thread that ran in it lives on";
  worker.reset();
  ASSERT_OK(remove_pinned(t.paths, "other"));
}

}  // namespace podns
