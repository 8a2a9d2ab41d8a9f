// A CNI network of fake plugins (tests/cni/fake_plugin.py) whose ADD and DEL fail on demand, for
// the DELs the real plugins cannot be made to fail: conflist `fakenet`, plugins a then b. a's DEL
// fails while del_flag exists, b's ADD while add_flag exists; both exist at first, so an ADD fails
// at b and its rollback's DEL fails at a. Removing a flag "fixes" the plugin, also for a DEL retried
// later with the conflist stored at ADD time.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../cni/cni_test_util.hpp"
#include "pod_fixture.hpp"

namespace podns::test {

class FakeCniNet {
 public:
  static constexpr const char* kName = "fakenet";

  explicit FakeCniNet(PodWorld& w) {
    bin_.install("a");
    bin_.install("b");
    add_flag = bin_.file("fail-add");
    del_flag = bin_.file("fail-del");
    PodWorld::write_file(add_flag, "");
    PodWorld::write_file(del_flag, "");
    nlohmann::json conf = {
        {"cniVersion", "1.0.0"},
        {"name", kName},
        {"plugins",
         {{{"type", "a"}, {"fake", {{"log", bin_.log()}, {"failWhile", {{"DEL", {{"file", del_flag}}}}}}}},
          {{"type", "b"}, {"fake", {{"log", bin_.log()}, {"failWhile", {{"ADD", {{"file", add_flag}}}}}}}}}}};
    PodWorld::write_file(w.env.cni_conf_dir + "/" + kName + ".conflist", conf.dump());
    w.env.plugin_dirs.insert(w.env.plugin_dirs.begin(), bin_.path());
  }

  void fix_add() { std::filesystem::remove(add_flag); }
  void fix_del() { std::filesystem::remove(del_flag); }
  const std::string& plugin_dir() const { return bin_.path(); }

  // Every call the plugins saw, in order.
  std::vector<nlohmann::json> calls() const { return bin_.calls(); }
  // The calls from index `from` on with this command and CNI_CONTAINERID.
  std::vector<nlohmann::json> calls(const std::string& command, const std::string& container_id,
                                    size_t from = 0) const {
    std::vector<nlohmann::json> out;
    auto all = calls();
    for (size_t i = from; i < all.size(); ++i)
      if (all[i]["command"] == command && all[i]["env"].value("CNI_CONTAINERID", "") == container_id)
        out.push_back(all[i]);
    return out;
  }

  std::string add_flag, del_flag;

 private:
  cni::test::FakeBin bin_;
};

}  // namespace podns::test
