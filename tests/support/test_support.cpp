#include "test_support.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace podns::test {
namespace fs = std::filesystem;

TempDir::TempDir(const std::string& tag) {
  std::string tmpl = "/tmp/podns-test-" + tag + "-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  // Detach whatever a failed test left mounted below us (deepest first) so removal cannot fail;
  // the leak check has already reported it.
  std::vector<std::string> mounts;
  std::ifstream mi("/proc/self/mountinfo");
  for (std::string line; std::getline(mi, line);) {
    std::istringstream ls(line);
    std::string id, parent, devno, root, mountpoint;
    ls >> id >> parent >> devno >> root >> mountpoint;
    if (mountpoint.rfind(path_ + "/", 0) == 0 || mountpoint == path_) mounts.push_back(mountpoint);
  }
  std::sort(mounts.begin(), mounts.end(), [](auto& a, auto& b) { return a.size() > b.size(); });
  for (auto& m : mounts) umount2(m.c_str(), MNT_DETACH);
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string unique_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return prefix + std::to_string(getpid()) + "x" + std::to_string(counter++);
}

bool have_tool(const std::string& tool) {
  if (tool.find('/') != std::string::npos) return access(tool.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/sbin:/usr/bin:/sbin:/bin";
  p += ":/usr/sbin:/sbin";
  std::istringstream ss(p);
  for (std::string dir; std::getline(ss, dir, ':');) {
    if (!dir.empty() && access((dir + "/" + tool).c_str(), X_OK) == 0) return true;
  }
  return false;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
    if (n > 0)
      out.append(buf, static_cast<size_t>(n));
    else if (errno != EINTR)
      break;
  }
  return out;
}

bool eventually(const std::function<bool()>& holds, std::chrono::milliseconds within) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (!holds()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

CommandResult run(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                  const std::string& input) {
  CommandResult res;
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) return res;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) envs.emplace_back(*e);
  for (auto& kv : env) {
    auto key = kv.substr(0, kv.find('=') + 1);
    std::erase_if(envs, [&](const std::string& s) { return s.rfind(key, 0) == 0; });
    envs.push_back(kv);
  }
  std::vector<char*> cargv, cenv;
  for (auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (auto& e : envs) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, cargv[0], &fa, nullptr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    close(in[1]);
    close(out[0]);
    close(err[0]);
    res.err = std::string("spawn ") + argv[0] + ": " + strerror(rc);
    res.exit_code = 127;
    return res;
  }
  if (!input.empty()) {
    size_t off = 0;
    while (off < input.size()) {
      ssize_t n = write(in[1], input.data() + off, input.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
  }
  close(in[1]);
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) (i == 0 ? res.out : res.err).append(buf, static_cast<size_t>(n));
      else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  res.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return res;
}

std::string podns_cli() {
  const char* override_path = std::getenv("PODNS_CLI");
  return override_path && *override_path ? override_path : PODNS_CLI_PATH;
}

std::string podns_faulty_cli() {
  const char* override_path = std::getenv("PODNS_FAULTY_CLI");
  return override_path && *override_path ? override_path : PODNS_FAULTY_CLI_PATH;
}

std::string source_dir() { return PODNS_SOURCE_DIR; }

CommandResult run_podns(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  std::vector<std::string> argv{podns_cli()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, env);
}

CommandResult run_podns_faulty(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  std::vector<std::string> argv{podns_faulty_cli()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, env);
}

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

EtcNetnsFile::EtcNetnsFile(const std::string& name, const std::string& file, const std::string& text)
    : dir_("/etc/netns/" + name) {
  std::filesystem::create_directories(dir_);
  std::ofstream(dir_ + "/" + file) << text;
}

EtcNetnsFile::~EtcNetnsFile() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::vector<std::string> mounts_at(const std::string& path, const std::string& pid) {
  std::vector<std::string> out;
  std::ifstream mi("/proc/" + pid + "/mountinfo");
  for (std::string line; std::getline(mi, line);) {
    std::istringstream ls(line);
    std::string id, parent, devno, root, mountpoint;
    ls >> id >> parent >> devno >> root >> mountpoint;
    if (mountpoint == path) out.push_back(line);
  }
  return out;
}

ChildSubreaper::ChildSubreaper() : ok_(::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0) {}
ChildSubreaper::~ChildSubreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 0); }

std::vector<ProcEntry> read_processes() {
  std::vector<ProcEntry> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::string pid = e.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = read_text("/proc/" + pid + "/stat");
    auto open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    ProcEntry p{pid, stat.substr(open + 1, close - open - 1), "", ""};
    std::istringstream rest(stat.substr(close + 2));
    rest >> p.state >> p.ppid;
    out.push_back(std::move(p));
  }
  return out;
}

int reap_child_named(const std::string& comm, int timeout_ms) {
  const std::string self = std::to_string(::getpid());
  for (int waited = 0;; waited += 10) {
    for (const auto& p : read_processes()) {
      if (p.ppid != self || p.comm != comm) continue;
      int status = 0;
      if (::waitpid(std::stoi(p.pid), &status, 0) > 0) return status;
    }
    if (waited >= timeout_ms) return -1;
    ::usleep(10'000);
  }
}

}  // namespace podns::test
