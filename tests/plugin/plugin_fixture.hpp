// A world for podns-bridge tests on the real kernel: a private state and run dir (named in the
// plugin's config, as several nodes on one machine would), a bridge, subnet and nftables table of
// the test's own, conflists written to a conf dir, and the three ways to drive the plugin: exec'd
// directly, through podns's CNI runtime, and through Go libcni. Cleanup removes every attachment,
// the network, its bridge and the table, so the leak check stays exact.
#pragma once

#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "../net/netns_fixture.hpp"
#include "podns/cni/config.hpp"
#include "podns/cni/runtime.hpp"
#include "podns/fw/firewall.hpp"
#include "podns/pod/networks.hpp"
#include "podns/pod/plugin.hpp"
#include "podns/pod/pod.hpp"
#include "test_support.hpp"

// Go libcni (built by CMake when golang-go and golang-github-appc-cni-dev are installed).
#define REQUIRE_LIBCNI()                                                                               \
  do {                                                                                                 \
    if (::access(PODNS_LIBCNI_DRIVER, X_OK) != 0)                                                      \
      GTEST_SKIP() << "podns-libcni was not built: install golang-go and golang-github-appc-cni-dev " \
                      "(scripts/install-deps.sh) and configure again";                                \
  } while (0)

#define REQUIRE_REFERENCE_PLUGINS() PODNS_REQUIRE_TOOL("/usr/lib/cni/tuning", "containernetworking-plugins")

namespace podns::test {

inline std::string bridge_plugin_dir() { return std::filesystem::path(PODNS_BRIDGE_PATH).parent_path().string(); }
// CNI_PATH for every runtime: podns-bridge from the build, the reference plugins from Debian.
inline std::string cni_path() { return bridge_plugin_dir() + ":/usr/lib/cni"; }

class PluginWorld {
 public:
  // `net` names the network; `third` picks the subnet's third octet among the test's own.
  explicit PluginWorld(std::string net = "plg") : dir_("plg"), net_(std::move(net)) {
    const int pid = ::getpid();
    static int counter = 0;
    bridge_ = unique_name("pb");
    subnet_prefix_ = fmt::format("10.{}.{}.", 160 + (pid / 256 + counter) % 60, pid % 256);
    ++counter;
    table_ = fmt::format("podns_p{}", pid);
    env = pod::PodEnv::from_paths(Paths::under(dir_ / "run", dir_ / "state"));
    env.nft_table = table_;
    env.cni_conf_dir = dir_ / "net.d";
    env.lock_timeout = std::chrono::seconds(30);
    env.on_warning = [this](const Error& e) { warnings.push_back(e.message()); };
    std::filesystem::create_directories(env.cni_conf_dir);
  }
  ~PluginWorld() { cleanup(); }
  PluginWorld(const PluginWorld&) = delete;
  PluginWorld& operator=(const PluginWorld&) = delete;

  void cleanup() {
    // Every attachment and the networks with them (network rm --force tears down plugin rows
    // as it does pods), then what the network rm may leave: the bridge, the table.
    if (auto nets = pod::network_list(env)) {
      for (const auto& n : *nets)
        if (n.driver != "cni") (void)pod::network_remove(env, n.name, /*force=*/true);
    }
    run({"ip", "link", "del", bridge_});
    run({"nft", "delete", "table", "inet", table_});
    state::Store::close_idle();
  }

  const std::string& net() const { return net_; }
  const std::string& bridge() const { return bridge_; }
  std::string subnet() const { return subnet_prefix_ + "0/24"; }
  std::string address(int last) const { return subnet_prefix_ + std::to_string(last); }
  const std::string& table() const { return table_; }
  const TempDir& dir() const { return dir_; }
  std::string cache_dir() const { return dir_ / "cache"; }

  // The podns-bridge plugin object; `extra` is merged in.
  nlohmann::json plugin(nlohmann::json extra = nlohmann::json::object()) const {
    nlohmann::json p = {{"type", "podns-bridge"},
                        {"bridge", bridge_},
                        {"isGateway", true},
                        {"isDefaultGateway", true},
                        {"ipMasq", true},
                        {"hairpinMode", true},
                        {"ipam", {{"type", "host-local"}, {"ranges", {{{{"subnet", subnet()}}}}}}},
                        {"capabilities", {{"portMappings", true}, {"ips", true}, {"mac", true}}},
                        {"podnsStateDir", env.paths.state_dir},
                        {"podnsRunDir", env.paths.run_dir},
                        {"podnsNftTable", table_}};
    p.merge_patch(extra);
    return p;
  }
  // A conflist of `plugins` in `version`, written to the conf dir; returns its path.
  std::string write_conflist(const std::string& version, const nlohmann::json& plugins,
                             const std::string& file = "") const {
    nlohmann::json list = {{"cniVersion", version}, {"name", net_}, {"plugins", plugins}};
    std::string path = env.cni_conf_dir + "/" + (file.empty() ? net_ + "-" + version : file) + ".conflist";
    std::ofstream(path) << list.dump(2);
    return path;
  }
  // The same list parsed for podns's CNI runtime.
  static cni::NetworkConfigList parse(const std::string& path) {
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto l = cni::parse_network_list(text);
    EXPECT_TRUE(l) << (l ? "" : l.error().message());
    return l ? *l : cni::NetworkConfigList{};
  }
  cni::Runtime runtime() const {
    cni::RuntimeOptions o;
    o.plugin_dirs = {bridge_plugin_dir(), "/usr/lib/cni"};
    o.cache_dir = cache_dir();
    o.deadline = std::chrono::seconds(60);
    return cni::Runtime(std::move(o));
  }

  // Go libcni: `podns-libcni VERB -conf FILE ARGS...`.
  CommandResult libcni(const std::string& verb, const std::string& conf, std::vector<std::string> args = {}) const {
    std::vector<std::string> argv = {PODNS_LIBCNI_DRIVER, verb, "-conf", conf, "-cache-dir", cache_dir()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, {"CNI_PATH=" + cni_path()});
  }

  // The plugin exec'd directly, as a runtime does: one plugin object (name and cniVersion added).
  // `binary`: podns-bridge, or PODNS_BRIDGE_FAULTY_PATH for the crash tests.
  CommandResult exec_plugin(const std::string& command, const std::string& version, const std::string& container_id,
                            const std::string& netns, nlohmann::json conf, std::vector<std::string> extra_env = {},
                            const std::string& binary = PODNS_BRIDGE_PATH) const {
    conf["name"] = net_;
    conf["cniVersion"] = version;
    std::vector<std::string> e = {"CNI_COMMAND=" + command, "CNI_CONTAINERID=" + container_id, "CNI_NETNS=" + netns,
                                  "CNI_IFNAME=eth0", "CNI_PATH=" + cni_path()};
    e.insert(e.end(), extra_env.begin(), extra_env.end());
    return run({binary}, e, conf.dump());
  }

  // What the state and the kernel hold for this world's network: rows, leases, forwards.
  struct Held {
    std::vector<std::string> rows;    // pods rows of kind cni
    std::vector<std::string> leases;  // addresses
    size_t forwards = 0;              // elements in the table's forward maps
  };
  Held held() const {
    Held h;
    auto store = state::Store::open(env.paths.db_path());
    EXPECT_TRUE(store);
    if (!store) return h;
    if (auto all = store->load_all()) {
      for (const auto& p : *all)
        if (p.pod.kind == state::PodKind::cni) h.rows.push_back(p.pod.name);
    }
    if (auto ls = store->all_leases()) {
      for (const auto& l : *ls) h.leases.push_back(l.address);
    }
    if (auto f = fw::Firewall::open(table_)) {
      if (auto inst = f->installed()) h.forwards = inst->forwards.size();
    }
    return h;
  }
  // Lock files of attachments still in the run dir.
  std::vector<std::string> attachment_locks() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(env.paths.locks_dir(), ec))
      if (e.path().filename().string().rfind("pod-cni:", 0) == 0) out.push_back(e.path().filename().string());
    return out;
  }

  pod::PodEnv env;
  std::vector<std::string> warnings;

 private:
  TempDir dir_;
  std::string net_, bridge_, subnet_prefix_, table_;
};

// The CNI error object a failed plugin printed.
inline nlohmann::json cni_error_of(const CommandResult& r) {
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

// The pod interface's address in a result (any version): the first IPv4 address.
inline std::string first_ip(const nlohmann::json& result) {
  for (const auto& ip : result.value("ips", nlohmann::json::array())) {
    std::string a = ip.value("address", "");
    if (a.find('.') != std::string::npos) return a.substr(0, a.find('/'));
  }
  return {};
}

// Whether an interface of that name exists in the host's netns now.
inline bool host_link_exists(const std::string& name) {
  struct stat st {};
  return !name.empty() && ::stat(("/sys/class/net/" + name).c_str(), &st) == 0;
}

// Wait (up to 5 s) until a host link is gone: a dying netns takes its veths away asynchronously.
inline bool host_link_gone(const std::string& name) {
  for (int i = 0; i < 500; ++i) {
    if (!host_link_exists(name)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace podns::test
