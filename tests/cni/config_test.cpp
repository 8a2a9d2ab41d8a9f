// Network configuration: libcni's load order, version negotiation, validation, pass-through.
#include <gtest/gtest.h>

#include "cni_test_util.hpp"
#include "podns/cni/config.hpp"

namespace podns::cni {
namespace {

using test::write_text;
using nlohmann::json;
using podns::test::TempDir;

TEST(CniConfig, ParsesListKeepingUnknownKeys) {
  auto l = parse_network_list(R"({"cniVersion":"1.0.0","name":"web","disableCheck":true,"x-vendor":{"k":1},
    "plugins":[{"type":"bridge","bridge":"br9","capabilities":{"portMappings":true,"ips":false},"weird":[1,2.5,"z"]},
               {"type":"portmap","capabilities":{"portMappings":true}}]})");
  ASSERT_OK(l);
  EXPECT_EQ(l->name, "web");
  EXPECT_EQ(l->cni_version, "1.0.0");
  EXPECT_TRUE(l->disable_check);
  EXPECT_FALSE(l->disable_gc);
  ASSERT_EQ(l->plugins.size(), 2u);
  EXPECT_EQ(l->plugins[0].type, "bridge");
  EXPECT_TRUE(l->plugins[0].capabilities.at("portMappings"));
  EXPECT_FALSE(l->plugins[0].capabilities.at("ips"));
  EXPECT_EQ(l->plugins[0].raw["weird"], json::parse(R"([1,2.5,"z"])"));
  EXPECT_EQ(l->plugins[0].raw["bridge"], "br9");
  EXPECT_EQ(json::parse(l->bytes)["x-vendor"]["k"], 1);
}

TEST(CniConfig, NegotiatesHighestSupportedVersion) {
  auto l = parse_network_list(R"({"cniVersion":"0.4.0","cniVersions":["0.3.1","1.0.0","2.0.0"],"name":"n",
                                   "plugins":[{"type":"bridge"}]})");
  ASSERT_OK(l);
  EXPECT_EQ(l->cni_version, "1.0.0");  // 2.0.0 is newer than podns: ignored, not an error
  EXPECT_EQ(l->cni_versions, (std::vector<std::string>{"1.0.0", "0.4.0", "0.3.1"}));
  auto only = parse_network_list(R"({"cniVersions":["1.1.0"],"name":"n","plugins":[{"type":"bridge"}]})");
  ASSERT_OK(only);
  EXPECT_EQ(only->cni_version, "1.1.0");
  auto none = parse_network_list(R"({"cniVersion":"0.2.0","name":"n","plugins":[{"type":"bridge"}]})");
  ASSERT_FALSE(none);
  EXPECT_TRUE(none.error().is(Errc::unsupported));
  EXPECT_NE(none.error().message().find("0.2.0"), std::string::npos);
}

TEST(CniConfig, DisableFlagsAcceptStringsLikeLibcni) {
  auto l = parse_network_list(R"({"cniVersion":"1.1.0","name":"n","disableCheck":"true","disableGC":"False",
                                   "plugins":[{"type":"x"}]})");
  ASSERT_OK(l);
  EXPECT_TRUE(l->disable_check);
  EXPECT_FALSE(l->disable_gc);
  auto bad = parse_network_list(R"({"cniVersion":"1.1.0","name":"n","disableGC":"maybe","plugins":[{"type":"x"}]})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("disableGC"), std::string::npos);
}

TEST(CniConfig, RefusesBadConfigsWithClearErrors) {
  struct Case {
    const char* json;
    const char* needle;
  } cases[] = {
      {R"({"cniVersion":"1.0.0","plugins":[{"type":"x"}]})", "no \"name\""},
      {R"({"cniVersion":"1.0.0","name":"-bad","plugins":[{"type":"x"}]})", "must start with a letter"},
      {R"({"cniVersion":"1.0.0","name":"a/b","plugins":[{"type":"x"}]})", "network name"},
      {R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"../../bin/sh"}]})", "not a path"},
      {R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"a\\b"}]})", "not a path"},
      {R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":".."}]})", "plugin type"},
      {R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":""}]})", "empty"},
      {R"({"cniVersion":"1.0.0","name":"n","plugins":[{"bridge":"x"}]})", "missing \"type\""},
      {R"({"cniVersion":"1.0.0","name":"n","plugins":[7]})", "plugins[0]: not an object"},
      {R"({"cniVersion":"1.0.0","name":"n","plugins":{"type":"x"}})", "not a list"},
      {R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"x","capabilities":{"ips":"yes"}}]})", "capability"},
      {R"({"cniVersion":1,"name":"n","plugins":[{"type":"x"}]})", "cniVersion"},
      {R"({"cniVersion":"one","name":"n","plugins":[{"type":"x"}]})", "not a version"},
      {R"({"name":"n","plugins":[{"type":"x"}]})", "no \"cniVersion\""},
      {R"({"cniVersion":"1.0.0","name":"n","loadOnlyInlinedPlugins":true})", "no plugins"},
      {R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"x"}]} trailing)", "invalid JSON"},
      {R"(["not","an","object"])", "not a JSON object"},
  };
  for (auto& c : cases) {
    auto r = parse_network_list(c.json);
    ASSERT_FALSE(r) << c.json;
    EXPECT_NE(r.error().message().find(c.needle), std::string::npos) << c.json << " -> " << r.error().message();
  }
}

TEST(CniConfig, SingleConfIsWrappedIntoAList) {
  auto l = parse_network_config(R"({"cniVersion":"0.4.0","name":"single","type":"bridge","bridge":"cni9"})");
  ASSERT_OK(l);
  ASSERT_EQ(l->plugins.size(), 1u);
  EXPECT_EQ(l->plugins[0].raw["bridge"], "cni9");
  auto doc = json::parse(l->bytes);
  EXPECT_EQ(doc["name"], "single");
  EXPECT_EQ(doc["cniVersion"], "0.4.0");
  EXPECT_EQ(doc["plugins"][0]["type"], "bridge");
  // A conflist saved as .conf is refused with a hint.
  auto wrong = parse_network_config(R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"x"}]})");
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message().find("conflist"), std::string::npos);
}

TEST(CniConfig, LoadsInLibcniOrder) {
  TempDir dir("cniconf");
  // Same name in several files: .conflist files sorted lexically win over .conf/.json.
  write_text(dir / "20-b.conflist", R"({"cniVersion":"1.0.0","name":"net","plugins":[{"type":"second"}]})");
  write_text(dir / "10-a.conflist", R"({"cniVersion":"1.0.0","name":"net","plugins":[{"type":"first"}]})");
  write_text(dir / "05-single.conf", R"({"cniVersion":"1.0.0","name":"net","type":"single"})");
  write_text(dir / "06-other.json", R"({"cniVersion":"1.0.0","name":"other","type":"fromjson"})");
  write_text(dir / "ignored.txt", R"({"cniVersion":"1.0.0","name":"txt","type":"x"})");
  auto l = load_network(dir.path(), "net");
  ASSERT_OK(l);
  EXPECT_EQ(l->plugins[0].type, "first");
  EXPECT_EQ(l->source, dir / "10-a.conflist");
  auto o = load_network(dir.path(), "other");
  ASSERT_OK(o);
  EXPECT_EQ(o->plugins[0].type, "fromjson");
  auto t = load_network(dir.path(), "txt");
  ASSERT_FALSE(t);
  EXPECT_TRUE(t.error().is(Errc::not_found));
  auto all = load_networks(dir.path());
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "net");
  EXPECT_EQ((*all)[1].name, "other");
}

TEST(CniConfig, AppendsPluginsFromNetworkDirUnlessInlinedOnly) {
  TempDir dir("cniconf");
  write_text(dir / "a.conflist", R"({"cniVersion":"1.1.0","name":"net","plugins":[{"type":"bridge"}]})");
  write_text(dir / "b.conflist",
             R"({"cniVersion":"1.1.0","name":"inl","loadOnlyInlinedPlugins":true,"plugins":[{"type":"bridge"}]})");
  write_text(dir / "c.conflist", R"({"cniVersion":"1.1.0","name":"dironly"})");
  for (auto n : {"net", "inl", "dironly"}) {
    std::filesystem::create_directory(dir / n);
    write_text(dir / (std::string(n) + "/20-tuning.conf"), R"({"type":"tuning","sysctl":{}})");
    write_text(dir / (std::string(n) + "/10-portmap.conf"), R"({"type":"portmap"})");
  }
  auto l = load_network(dir.path(), "net");
  ASSERT_OK(l);
  ASSERT_EQ(l->plugins.size(), 3u);
  EXPECT_EQ(l->plugins[1].type, "portmap");
  EXPECT_EQ(l->plugins[2].type, "tuning");
  EXPECT_EQ(json::parse(l->bytes)["plugins"].size(), 3u);  // the cached config has them too
  auto inl = load_network(dir.path(), "inl");
  ASSERT_OK(inl);
  EXPECT_EQ(inl->plugins.size(), 1u);
  auto d = load_network(dir.path(), "dironly");
  ASSERT_OK(d);
  EXPECT_EQ(d->plugins.size(), 2u);
}

TEST(CniConfig, BrokenFilesAreSkippedAndNamedWhenTheNetworkIsMissing) {
  TempDir dir("cniconf");
  write_text(dir / "00-broken.conflist", R"({"cniVersion":"1.0.0","name":)");
  write_text(dir / "01-good.conflist", R"({"cniVersion":"1.0.0","name":"good","plugins":[{"type":"x"}]})");
  auto g = load_network(dir.path(), "good");
  ASSERT_OK(g);
  auto m = load_network(dir.path(), "missing");
  ASSERT_FALSE(m);
  EXPECT_TRUE(m.error().is(Errc::not_found));
  EXPECT_NE(m.error().message().find("00-broken.conflist"), std::string::npos) << m.error().message();
  auto bad_name = load_network(dir.path(), "../etc");
  ASSERT_FALSE(bad_name);
  EXPECT_TRUE(bad_name.error().is(Errc::invalid_name));
  auto no_dir = load_network(dir / "nope", "good");
  ASSERT_FALSE(no_dir);
  EXPECT_TRUE(no_dir.error().is(Errc::not_found));
}

TEST(CniConfig, ContainerIdRules) {
  EXPECT_OK(validate_container_id("0123abc"));
  EXPECT_OK(validate_container_id("a_b.c-d"));
  EXPECT_FALSE(validate_container_id(""));
  EXPECT_FALSE(validate_container_id("_x"));
  EXPECT_FALSE(validate_container_id("a/b"));
  EXPECT_FALSE(validate_container_id("a b"));
  EXPECT_FALSE(validate_container_id(std::string(201, 'a')));
}

}  // namespace
}  // namespace podns::cni
