// podns vs the same steps written plainly:
//   BM_UsernsNetnsPin: a user namespace with maps and a netns owned by it, both pinned, then
//     removed. Plain: fork; child unshares user; parent writes setgroups/uid_map/gid_map; child
//     unshares net; parent binds /proc/PID/ns/{user,net}; kill + reap; umount + unlink.
//   BM_Spawn: run /bin/true inside a pinned netns and wait. Plain: fork, setns, execve, waitpid.
// Run as root: build-b/bench/bench_userns (see docs/userns.md).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>
#include <cstring>
#include <filesystem>
#include <string>

#include "bench_dir.hpp"
#include "podns/pin.hpp"
#include "podns/spawn.hpp"
#include "podns/userns.hpp"

extern char** environ;

namespace {

using namespace podns;

using podns::bench::BenchDir;

IdMappings bench_maps() {
  IdMappings m;
  m.uid = {{0, 1000000, 65536}};
  m.gid = {{0, 1000000, 65536}};
  return m;
}

void BM_UsernsNetnsPin_podns(benchmark::State& state) {
  if (::geteuid() != 0) return state.SkipWithError("needs root");
  BenchDir dir;
  Paths paths = Paths::under(dir.path + "/run", dir.path + "/state");
  UsernsSetRequest req{.paths = paths, .name = "bench", .types = {NamespaceType::user, NamespaceType::net},
                       .idmaps = bench_maps()};
  for (auto _ : state) {
    auto set = create_userns_set(req);
    if (!set) return state.SkipWithError(set.error().message().c_str());
    // The two pins made, as the plain version removes its two.
    if (auto s = remove_pinned(paths, "bench", req.types); !s) return state.SkipWithError(s.error().message().c_str());
  }
}

void write_file(const std::string& path, const char* text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0 || ::write(fd, text, std::strlen(text)) < 0) std::abort();
  ::close(fd);
}

void bind_file(const std::string& source, const std::string& target) {
  int fd = ::open(target.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0) std::abort();
  ::close(fd);
  if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) < 0) std::abort();
}

void BM_UsernsNetnsPin_plain(benchmark::State& state) {
  if (::geteuid() != 0) return state.SkipWithError("needs root");
  BenchDir dir;
  std::string user_pin = dir.path + "/user", net_pin = dir.path + "/net";
  for (auto _ : state) {
    int to_child[2], to_parent[2];
    if (::pipe2(to_child, O_CLOEXEC) < 0 || ::pipe2(to_parent, O_CLOEXEC) < 0) std::abort();
    pid_t pid = ::fork();
    if (pid == 0) {
      char c = 0;
      if (::unshare(CLONE_NEWUSER) < 0) ::_exit(1);
      (void)!::write(to_parent[1], &c, 1);
      (void)!::read(to_child[0], &c, 1);  // maps written
      if (::unshare(CLONE_NEWNET) < 0) ::_exit(1);
      (void)!::write(to_parent[1], &c, 1);
      for (;;) ::pause();
    }
    char c;
    (void)!::read(to_parent[0], &c, 1);
    std::string proc = "/proc/" + std::to_string(pid);
    write_file(proc + "/setgroups", "allow");
    write_file(proc + "/uid_map", "0 1000000 65536\n");
    write_file(proc + "/gid_map", "0 1000000 65536\n");
    (void)!::write(to_child[1], &c, 1);
    (void)!::read(to_parent[0], &c, 1);
    bind_file(proc + "/ns/user", user_pin);
    bind_file(proc + "/ns/net", net_pin);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    for (int fd : {to_child[0], to_child[1], to_parent[0], to_parent[1]}) ::close(fd);
    for (const auto& p : {net_pin, user_pin}) {
      ::umount2(p.c_str(), MNT_DETACH);
      ::unlink(p.c_str());
    }
  }
}

void BM_Spawn_podns(benchmark::State& state) {
  if (::geteuid() != 0) return state.SkipWithError("needs root");
  BenchDir dir;
  Paths paths = Paths::under(dir.path + "/run", dir.path + "/state");
  auto pin = create_pinned(paths, NamespaceType::net, "bench");
  if (!pin) return state.SkipWithError(pin.error().message().c_str());
  SpawnRequest req{.argv = {"/bin/true"}, .namespaces = {{NamespaceType::net, pin->path}}};
  for (auto _ : state) {
    auto child = spawn(req);
    if (!child) return state.SkipWithError(child.error().message().c_str());
    if (*child->wait() != 0) return state.SkipWithError("true failed");
  }
  (void)remove_pinned(paths, "bench");
}

void BM_Spawn_plain(benchmark::State& state) {
  if (::geteuid() != 0) return state.SkipWithError("needs root");
  BenchDir dir;
  Paths paths = Paths::under(dir.path + "/run", dir.path + "/state");
  auto pin = create_pinned(paths, NamespaceType::net, "bench");
  if (!pin) return state.SkipWithError(pin.error().message().c_str());
  for (auto _ : state) {
    int fd = ::open(pin->path.c_str(), O_RDONLY | O_CLOEXEC);
    pid_t pid = ::fork();
    if (pid == 0) {
      if (::setns(fd, CLONE_NEWNET) < 0) ::_exit(126);
      char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
      ::execve(argv[0], argv, environ);
      ::_exit(127);
    }
    ::close(fd);
    int status;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return state.SkipWithError("true failed");
  }
  (void)remove_pinned(paths, "bench");
}

}  // namespace

BENCHMARK(BM_UsernsNetnsPin_podns)->Name("BM_UsernsNetnsPin/podns")->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_UsernsNetnsPin_plain)->Name("BM_UsernsNetnsPin/plain")->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Spawn_podns)->Name("BM_Spawn/podns")->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Spawn_plain)->Name("BM_Spawn/plain")->Unit(benchmark::kMicrosecond)->UseRealTime();

BENCHMARK_MAIN();
