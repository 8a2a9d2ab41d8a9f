// `pod create --userns auto` and `ns add --type user --map auto` through the CLI: one allocator, so
// a pod's user namespace and a pinned one never get the same host ids, in either order and when
// both run at once (they used to look at the state and at the pins respectively, without a lock).
// The ids come from root's range in /etc/subuid (scripts/test-setup.sh adds one); where that
// range has room for one block only, the later requests must fail clearly rather than overlap.
#include <thread>

#include <gtest/gtest.h>

#include "../pod/pod_fixture.hpp"

namespace podns::test {
namespace {

#define REQUIRE_NATIVE()  \
  PODNS_REQUIRE_ROOT();   \
  PODNS_REQUIRE_TOOL("nft", "nftables")

struct HostRange {
  uint64_t start, size;
};

// The host ranges of the user namespace pinned as `name` (uid and gid maps), as the kernel has them.
std::vector<HostRange> host_ranges(const std::vector<std::string>& env, const std::string& name) {
  auto r = run_podns({"ns", "oci-spec", name}, env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  std::vector<HostRange> out;
  if (!j.is_object() || !j.contains("linux")) return out;
  for (const char* key : {"uidMappings", "gidMappings"})
    for (const auto& m : j["linux"].value(key, nlohmann::json::array()))
      out.push_back({m["hostID"].get<uint64_t>(), m["size"].get<uint64_t>()});
  EXPECT_FALSE(out.empty()) << name << ": " << r.out;
  return out;
}

bool overlap(const std::vector<HostRange>& a, const std::vector<HostRange>& b) {
  for (const auto& x : a)
    for (const auto& y : b)
      if (x.start < y.start + y.size && y.start < x.start + x.size) return true;
  return false;
}

// A failed `auto`: there was no free block left, said in one line.
void expect_no_free_block(const CommandResult& r) {
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("free subordinate ids left"), std::string::npos) << r.err;
}

TEST(UsernsAutoCli, PodAndPinnedUserNamespaceNeverShareHostIds) {
  REQUIRE_NATIVE();
  PodWorld w;
  auto env = w.cli_env();
  std::string set = unique_name("ua"), pod = unique_name("up");
  auto add = run_podns({"ns", "add", set, "--type", "user", "--type", "net", "--map", "auto"}, env);
  ASSERT_EQ(add.exit_code, 0) << add.err;
  auto create = run_podns({"pod", "create", pod, "--userns", "auto"}, env);
  if (create.exit_code == 0) {
    EXPECT_FALSE(overlap(host_ranges(env, set), host_ranges(env, pod)))
        << "pod " << pod << " got host ids of the pinned user namespace " << set;
  } else {
    expect_no_free_block(create);
  }
  (void)run_podns({"pod", "rm", pod}, env);
  EXPECT_EQ(run_podns({"ns", "rm", set}, env).exit_code, 0);
}

TEST(UsernsAutoCli, ConcurrentAllocationsNeverOverlap) {
  REQUIRE_NATIVE();
  PodWorld w;
  auto env = w.cli_env();
  struct Request {
    std::string name;
    std::vector<std::string> args;
    CommandResult result;
  };
  std::vector<Request> requests;
  for (int i = 0; i < 4; ++i) {
    std::string n = unique_name("uc");
    requests.push_back({n, {"ns", "add", n, "--type", "user", "--map", "auto"}, {}});
  }
  for (int i = 0; i < 2; ++i) {
    std::string n = unique_name("uq");
    requests.push_back({n, {"pod", "create", n, "--userns", "auto"}, {}});
  }
  std::vector<std::thread> threads;
  for (auto& r : requests) threads.emplace_back([&r, &env] { r.result = run_podns(r.args, env); });
  for (auto& t : threads) t.join();

  std::vector<std::pair<std::string, std::vector<HostRange>>> granted;
  for (const auto& r : requests) {
    if (r.result.exit_code == 0) granted.emplace_back(r.name, host_ranges(env, r.name));
    else expect_no_free_block(r.result);
  }
  EXPECT_FALSE(granted.empty()) << "not one of the requests got ids";
  for (size_t i = 0; i < granted.size(); ++i)
    for (size_t j = i + 1; j < granted.size(); ++j)
      EXPECT_FALSE(overlap(granted[i].second, granted[j].second))
          << granted[i].first << " and " << granted[j].first << " got the same host ids";

  for (const auto& r : requests) {
    if (r.args[0] == "pod") (void)run_podns({"pod", "rm", r.name}, env);
    else (void)run_podns({"ns", "rm", r.name}, env);
  }
}

}  // namespace
}  // namespace podns::test
