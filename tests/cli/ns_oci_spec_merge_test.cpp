// podns ns oci-spec NAME --merge CONFIG with a CONFIG that is not what a runtime bundle holds: a
// FIFO, a 100 MB file, JSON nested 100000 deep. Each is one clear error line, promptly.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace podns::test {
namespace {

struct MergeEnv {
  TempDir dir{"ocimerge"};
  std::vector<std::string> env{"PODNS_RUN_DIR=" + dir.path() + "/run"};
  std::string name = unique_name("om");
  MergeEnv() { EXPECT_EQ(run_podns({"ns", "add", name}, env).exit_code, 0); }
  ~MergeEnv() { (void)run_podns({"ns", "rm", name}, env); }
  // Under coreutils' timeout, so a hang fails the test instead of stalling it (exit 137).
  CommandResult merge(const std::string& config) const {
    return run({"timeout", "-s", "KILL", "20", podns_cli(), "ns", "oci-spec", name, "--merge", config}, env);
  }
};

void expect_one_line_error(const CommandResult& r, const std::string& needle) {
  EXPECT_EQ(r.exit_code, 1) << (r.exit_code == 137 ? "killed after 20 s: it hung" : r.err.substr(0, 300));
  EXPECT_EQ(r.err.rfind("podns: oci-spec --merge: ", 0), 0u) << r.err.substr(0, 300);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err.substr(0, 300);
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err.substr(0, 300);
  EXPECT_EQ(r.out, "");
}

TEST(NsOciSpecMerge, AFifoIsRefusedAtOnce) {
  PODNS_REQUIRE_ROOT();
  MergeEnv m;
  std::string fifo = m.dir / "config.json";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto start = std::chrono::steady_clock::now();
  auto r = m.merge(fifo);
  expect_one_line_error(r, fifo + ": not a regular file");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(NsOciSpecMerge, A100MBFileIsRefusedWithoutReadingIt) {
  PODNS_REQUIRE_ROOT();
  MergeEnv m;
  std::string huge = m.dir / "config.json";
  std::ofstream(huge).close();
  ASSERT_EQ(::truncate(huge.c_str(), 100 << 20), 0);  // sparse: no disk used
  auto start = std::chrono::steady_clock::now();
  auto r = m.merge(huge);
  expect_one_line_error(r, huge + ": larger than 16777216 bytes");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

// Valid JSON, nested 100000 deep: parsed whole, it crashed printing the merged document.
TEST(NsOciSpecMerge, DeepNestingIsRefused) {
  PODNS_REQUIRE_ROOT();
  MergeEnv m;
  std::string deep = m.dir / "config.json";
  std::ofstream(deep) << R"({"ociVersion": "1.0.2", "annotations": {"x": )" << std::string(100000, '[')
                      << std::string(100000, ']') << "}}";
  auto r = m.merge(deep);
  expect_one_line_error(r, "nested deeper than 64 levels");
}

TEST(NsOciSpecMerge, AnOrdinaryConfigStillMerges) {
  PODNS_REQUIRE_ROOT();
  MergeEnv m;
  std::string config = m.dir / "config.json";
  std::ofstream(config) << R"({"ociVersion": "1.0.2", "process": {"args": ["sh"]}})";
  auto r = m.merge(config);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["process"]["args"][0], "sh");
  EXPECT_EQ(j["linux"]["namespaces"][0]["type"], "network");
  EXPECT_EQ(j["linux"]["namespaces"][0]["path"], m.dir / ("run/netns/" + m.name));
}

}  // namespace
}  // namespace podns::test
