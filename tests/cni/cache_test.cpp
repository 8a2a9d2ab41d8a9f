// The result cache: libcni's layout and format, atomic writes, corrupt entries.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "cni_test_util.hpp"
#include "podns/cni/cache.hpp"

namespace podns::cni {
namespace {

using nlohmann::json;
using podns::test::TempDir;
using test::read_text;
using test::write_text;

// An entry as libcni 1.1 writes it (pkg/libcni/api.go cachedInfo), with Go's base64 for []byte.
const char* kLibcniEntry =
    R"({"kind":"cniCacheV1","containerId":"ctr1","config":"eyJjbmlWZXJzaW9uIjoiMS4wLjAiLCJuYW1lIjoibmV0MSIsInBsdWdpbnMiOlt7InR5cGUiOiJicmlkZ2UifV19","ifName":"eth0","networkName":"net1","netns":"/run/netns/p1","cniArgs":[["K8S_POD_NAME","web"]],"capabilityArgs":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]},"result":{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","mac":"02:42:ac:11:00:02","sandbox":"/run/netns/p1"}],"ips":[{"interface":0,"address":"10.88.0.2/16","gateway":"10.88.0.1"}],"dns":{}}})";

TEST(CniCache, ReadsLibcniEntries) {
  TempDir dir("cnicache");
  std::filesystem::create_directories(dir / "results");
  write_text(dir / "results/net1-ctr1-eth0", kLibcniEntry);
  ResultCache cache(dir.path());
  auto e = cache.read("net1", "ctr1", "eth0");
  ASSERT_OK(e);
  ASSERT_TRUE(e->has_value());
  auto& entry = **e;
  EXPECT_EQ(entry.container_id, "ctr1");
  EXPECT_EQ(entry.netns, "/run/netns/p1");
  EXPECT_EQ(json::parse(entry.config)["name"], "net1");
  ASSERT_EQ(entry.cni_args.size(), 1u);
  EXPECT_EQ(entry.cni_args[0].second, "web");
  EXPECT_EQ(entry.capability_args["portMappings"][0]["hostPort"], 8080);
  EXPECT_EQ(entry.result["ips"][0]["address"], "10.88.0.2/16");
  // What podns writes back is the same document.
  EXPECT_EQ(json::parse(serialize_cache_entry(entry)), json::parse(kLibcniEntry));
}

TEST(CniCache, WritesAtomicallyWithLibcniNameAndMode) {
  TempDir dir("cnicache");
  ResultCache cache(dir / "deep/cni");
  CacheEntry e;
  e.container_id = "c2";
  e.ifname = "net0";
  e.network_name = "n2";
  e.config = R"({"any":"bytes"})";
  e.result = json::parse(R"({"cniVersion":"1.0.0"})");
  ASSERT_OK(cache.write(e));
  const std::string path = dir / "deep/cni/results/n2-c2-net0";
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto j = json::parse(read_text(path));
  EXPECT_EQ(j["kind"], "cniCacheV1");
  EXPECT_EQ(j["config"], base64_encode(e.config));
  EXPECT_FALSE(j.contains("netns"));  // omitempty, like libcni
  // No temp file left behind; overwrite works.
  e.netns = "/x";
  ASSERT_OK(cache.write(e));
  int files = 0;
  for (auto& f : std::filesystem::directory_iterator(dir / "deep/cni/results")) (void)f, ++files;
  EXPECT_EQ(files, 1);
  auto back = cache.read("n2", "c2", "net0");
  ASSERT_OK(back);
  EXPECT_EQ((*back)->netns, "/x");
  ASSERT_OK(cache.remove("n2", "c2", "net0"));
  ASSERT_OK(cache.remove("n2", "c2", "net0"));  // idempotent
  auto gone = cache.read("n2", "c2", "net0");
  ASSERT_OK(gone);
  EXPECT_FALSE(gone->has_value());
}

TEST(CniCache, CorruptEntriesAreErrorsAndListSkipsThem) {
  TempDir dir("cnicache");
  std::filesystem::create_directories(dir / "results");
  write_text(dir / "results/net1-ctr1-eth0", kLibcniEntry);
  write_text(dir / "results/net1-bad-eth0", "{\"kind\":\"cniCacheV1\",");
  write_text(dir / "results/net1-kind-eth0", R"({"kind":"v2","containerId":"k","ifName":"e","networkName":"net1"})");
  write_text(dir / "results/net1-b64-eth0",
             R"({"kind":"cniCacheV1","containerId":"k","ifName":"e","networkName":"net1","config":"!!!!"})");
  write_text(dir / "results/net1x-other-eth0", kLibcniEntry);  // prefix of another network's name
  ResultCache cache(dir.path());
  auto bad = cache.read("net1", "bad", "eth0");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(Errc::corrupt));
  EXPECT_NE(bad.error().message().find("net1-bad-eth0"), std::string::npos);
  auto kind = cache.read("net1", "kind", "eth0");
  ASSERT_FALSE(kind);
  EXPECT_NE(kind.error().message().find("kind"), std::string::npos);
  auto b64 = cache.read("net1", "b64", "eth0");
  ASSERT_FALSE(b64);
  EXPECT_NE(b64.error().message().find("base64"), std::string::npos);
  std::vector<Error> errors;
  auto l = cache.list("net1", &errors);
  ASSERT_OK(l);
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].container_id, "ctr1");
  EXPECT_EQ(errors.size(), 3u);
}

TEST(CniCache, Base64) {
  for (std::string s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar", std::string("\0\xff\x10", 3)}) {
    auto d = base64_decode(base64_encode(s));
    ASSERT_OK(d);
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_FALSE(base64_decode("Zm8"));
  EXPECT_FALSE(base64_decode("Z=8="));
  EXPECT_FALSE(base64_decode("Zm8*"));
}

}  // namespace
}  // namespace podns::cni
