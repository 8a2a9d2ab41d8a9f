// main() of every podns test binary. CTest runs each test case as its own process, so the leak
// check below runs after every single test: if the test left a pin, an nsfs mount, a netns, an
// interface, an nft rule or a process behind, the run fails and names what leaked.
// PODNS_LEAK_CHECK=0 turns it off (only for local work while other suites run concurrently).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "leak_check.hpp"

namespace {

class LeakCheck : public ::testing::Environment {
 public:
  void SetUp() override { before_ = podns::test::HostSnapshot::take(); }
  void TearDown() override {
    // Interfaces and helper processes go away asynchronously (netns teardown in the kernel, a
    // killed helper exiting): give them a moment before calling them leaked. Unreaped children
    // (zombies) are never reaped here: they are leaks too.
    std::string leaks;
    for (int i = 0; i < 40; ++i) {
      leaks = podns::test::describe_leaks(before_, podns::test::HostSnapshot::take());
      if (leaks.empty()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "the tests left these behind:\n" << leaks;
  }

 private:
  podns::test::HostSnapshot before_;
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleMock(&argc, argv);
  const char* flag = std::getenv("PODNS_LEAK_CHECK");
  bool listing = ::testing::GTEST_FLAG(list_tests);
  if (!listing && !(flag && std::string(flag) == "0")) ::testing::AddGlobalTestEnvironment(new LeakCheck);
  return RUN_ALL_TESTS();
}
