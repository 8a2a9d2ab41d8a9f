// The CLI side: podns ns add --type user ... --map/--gid-map/--sysctl, ns exec into the whole set,
// ns oci-spec, --owner-of, and bad input giving one-line errors and leaving nothing behind.
#include <filesystem>

#include <nlohmann/json.hpp>

#include "podns/pin.hpp"
#include "test_support.hpp"

namespace podns {
namespace {

class CliUserns : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (pins are bind mounts)";
  }
  void TearDown() override {
    for (const auto& n : names_) (void)remove_pinned(paths_, n);
  }
  test::CommandResult podns(std::vector<std::string> args) {
    return test::run_podns(args, {"PODNS_RUN_DIR=" + paths_.run_dir, "PODNS_STATE_DIR=" + paths_.state_dir});
  }
  std::string name() {
    names_.push_back(test::unique_name("cu"));
    return names_.back();
  }
  test::TempDir dir_{"cliuserns"};
  Paths paths_ = Paths::under(dir_ / "run", dir_ / "state");
  std::vector<std::string> names_;
};

// One engine for every set: a set with a user namespace gets what `ip netns exec` gives a plain
// netns (its sysfs on /sys, /etc/netns/NAME/* over /etc/*), and the host's /etc is left alone.
TEST_F(CliUserns, ExecOfAUserSetBindsEtcNetnsAsAPlainSetDoes) {
  std::string n = name();
  test::EtcNetnsFile hosts(n, "hosts", "10.0.0.1 inside-only\n");
  auto add = podns({"ns", "add", n, "--type", "user", "--type", "net", "--map", "0:1000000:65536"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  auto exec = podns({"ns", "exec", n, "--", "sh", "-c", "id -u; cat /etc/hosts; ls /sys/class/net"});
  ASSERT_EQ(exec.exit_code, 0) << exec.err;
  EXPECT_EQ(exec.out, "0\n10.0.0.1 inside-only\nlo\n");
  EXPECT_EQ(exec.err, "");
  EXPECT_NE(test::read_text("/etc/hosts"), "10.0.0.1 inside-only\n");
}

TEST_F(CliUserns, AddExecOciSpec) {
  std::string n = name();
  auto add = podns({"ns", "add", n, "--type", "user", "--type", "net", "--type", "uts", "--map",
                    "0:1000000:1000,1000:1010000:1000", "--gid-map", "0:1000000:65536", "--sysctl",
                    "net.ipv4.ip_forward=1", "--sysctl", "kernel.hostname=clihost"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_EQ(add.out, paths_.ns_dir("user") + "/" + n + "\n" + paths_.ns_dir("uts") + "/" + n + "\n" +
                         paths_.netns_dir + "/" + n + "\n");
  auto exec = podns({"ns", "exec", n, "--", "sh", "-c",
                     "id -u; hostname; cat /proc/sys/net/ipv4/ip_forward; ls /sys/class/net; cat /proc/self/uid_map"});
  ASSERT_EQ(exec.exit_code, 0) << exec.err;
  EXPECT_NE(exec.out.find("0\nclihost\n1\nlo\n"), std::string::npos) << exec.out;
  EXPECT_NE(exec.out.find("1000    1010000       1000"), std::string::npos) << exec.out;
  auto code = podns({"ns", "exec", n, "--", "sh", "-c", "exit 7"});
  EXPECT_EQ(code.exit_code, 7);
  auto spec = podns({"ns", "oci-spec", n});
  ASSERT_EQ(spec.exit_code, 0) << spec.err;
  auto j = nlohmann::json::parse(spec.out);
  EXPECT_EQ(j["linux"]["namespaces"][0]["type"], "user");
  EXPECT_EQ(j["linux"]["uidMappings"].size(), 2u);
  EXPECT_EQ(j["linux"]["gidMappings"][0]["size"], 65536);
  auto only = podns({"ns", "oci-spec", n, "--type", "network"});
  ASSERT_EQ(only.exit_code, 0) << only.err;
  auto jo = nlohmann::json::parse(only.out);
  EXPECT_EQ(jo["linux"]["namespaces"].size(), 1u);
  EXPECT_FALSE(jo["linux"].contains("uidMappings"));
  // The owner of the netns, pinned on request, is the set's user namespace.
  std::string o = name();
  auto owner = podns({"ns", "add", o, "--owner-of", paths_.netns_dir + "/" + n});
  ASSERT_EQ(owner.exit_code, 0) << owner.err;
  auto a = podns({"ns", "info", paths_.ns_dir("user") + "/" + o, "--json"});
  auto b = podns({"ns", "info", paths_.ns_dir("user") + "/" + n, "--json"});
  EXPECT_EQ(nlohmann::json::parse(a.out)["inode"], nlohmann::json::parse(b.out)["inode"]);
  auto rm = podns({"ns", "rm", n, o});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
}

TEST_F(CliUserns, SysctlWithoutAUserNamespace) {
  std::string n = name();
  auto add = podns({"ns", "add", n, "--sysctl", "net.ipv4.ip_forward=1"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  auto exec = podns({"ns", "exec", n, "--", "cat", "/proc/sys/net/ipv4/ip_forward"});
  EXPECT_EQ(exec.out, "1\n") << exec.err;
}

TEST_F(CliUserns, BadInputIsOneLineAndLeavesNothing) {
  std::string n = name();
  struct Case {
    std::vector<std::string> args;
    const char* want;
  } cases[] = {
      {{"--type", "user", "--type", "net"}, "needs --map"},
      {{"--type", "user", "--map", "0:1000000"}, "want CONTAINER:HOST:SIZE"},
      {{"--type", "user", "--map", "0:1000000:0"}, "size 0"},
      {{"--type", "user", "--map", "0:1000000:10,5:2000000:10"}, "overlap inside"},
      {{"--type", "user", "--map", "0:4294967000:1000"}, "past the largest id"},
      {{"--type", "net", "--map", "0:1000000:10"}, "need --type user"},
      {{"--type", "user", "--type", "net", "--map", "0:1000000:10", "--sysctl", "kernel.panic=1"}, "not a namespaced sysctl"},
      {{"--type", "user", "--type", "uts", "--map", "0:1000000:10", "--sysctl", "net.ipv4.ip_forward=1"}, "needs a new net"},
      {{"--owner-of", "/etc/passwd"}, "not a namespace"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args{"ns", "add", n};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto r = podns(args);
    EXPECT_EQ(r.exit_code, 1) << c.want;
    EXPECT_EQ(r.err.rfind("podns: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(c.want), std::string::npos) << r.err;
  }
  auto setgroups = podns({"ns", "add", n, "--type", "user", "--map", "0:1000000:10", "--setgroups", "maybe"});
  EXPECT_EQ(setgroups.exit_code, 2);
  for (const char* t : {"user", "net", "uts"})
    EXPECT_FALSE(std::filesystem::exists(pin_path(paths_, *parse_namespace_type(t), n))) << t;
}

}  // namespace
}  // namespace podns
