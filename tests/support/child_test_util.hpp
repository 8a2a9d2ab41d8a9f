// What a started child inherited, read from outside through /proc, plus the parent-side state the
// child-process tests set up (a stray fd, a blocked mask, ignored signals) and undo.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace podns::test {

// The value of `key` ("SigBlk", "Uid", ...) in /proc/PID/status, empty when absent.
inline std::string proc_status_field(pid_t pid, const std::string& key) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);) {
    if (line.rfind(key + ":", 0) != 0) continue;
    auto v = line.substr(key.size() + 1);
    while (!v.empty() && (v.front() == '\t' || v.front() == ' ')) v.erase(0, 1);
    while (!v.empty() && (v.back() == '\t' || v.back() == ' ')) v.pop_back();
    return v;
  }
  return {};
}

// Open fd numbers of PID.
// The fds of a `sleep` child once it sleeps. Right after the exec the dynamic loader still has
// files of its own open (fd 3: ld.so.cache, a library): reading /proc then saw them (CI, under
// ASan). So wait, at most 5 s, until the process is inside clock_nanosleep (/proc/PID/syscall
// starts with the syscall number), where it holds only what it was given.
inline std::set<int> sleeper_fds(pid_t pid) {
  const std::string syscall_file = "/proc/" + std::to_string(pid) + "/syscall";
  const std::string asleep = std::to_string(SYS_clock_nanosleep) + " ";
  for (int i = 0; i < 500; ++i) {
    std::ifstream f(syscall_file);
    std::string line;
    if (std::getline(f, line) && line.rfind(asleep, 0) == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::set<int> out;
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') out.insert(std::stoi(e->d_name));
  ::closedir(d);
  return out;
}

// A descriptor without close-on-exec, as a careless library in the embedding program leaves one,
// at a number no shell or tool uses by itself. Closed when the test ends.
class StrayFd {
 public:
  static constexpr int kNumber = 47;
  StrayFd() {
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    fd_ = ::fcntl(null, F_DUPFD, kNumber);  // F_DUPFD: no close-on-exec, on purpose
    ::close(null);
  }
  ~StrayFd() { ::close(fd_); }
  StrayFd(const StrayFd&) = delete;
  StrayFd& operator=(const StrayFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// SIGUSR1 and SIGTERM blocked in the calling thread, SIGPIPE and SIGTERM ignored; all undone on
// destruction. What an embedding server often does to itself.
class HostileSignals {
 public:
  HostileSignals() {
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGTERM);
    ::pthread_sigmask(SIG_BLOCK, &block, &old_mask_);
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ign, &old_pipe_);
    ::sigaction(SIGTERM, &ign, &old_term_);
    // Also one of glibc's internal signals, which glibc's sigaction() refuses to touch but a
    // parent can leave ignored (CI's did): 32, used only by pthread_cancel. Not 33: glibc's setxid
    // broadcast waits for its handler. Raw kernel sigactions: SIG_IGN is 1, the rest zero.
    const unsigned long ign_raw[4] = {1, 0, 0, 0};
    ::syscall(SYS_rt_sigaction, kGlibcCancelSignal, ign_raw, old_cancel_, 8);
  }
  ~HostileSignals() {
    ::syscall(SYS_rt_sigaction, kGlibcCancelSignal, old_cancel_, nullptr, 8);
    ::sigaction(SIGPIPE, &old_pipe_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
    ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  HostileSignals(const HostileSignals&) = delete;
  HostileSignals& operator=(const HostileSignals&) = delete;

 private:
  static constexpr int kGlibcCancelSignal = 32;
  sigset_t old_mask_;
  struct sigaction old_pipe_ {}, old_term_ {};
  unsigned long old_cancel_[4] = {};
};

// Threads that keep creating and joining short-lived threads, allocating as they go, until
// destroyed: at any clone some thread is likely in the middle of pthread_create or exit, the state
// in which glibc's setxid broadcast, run in a copy of this process, waits forever.
class BusyThreads {
 public:
  explicit BusyThreads(int n) {
    for (int i = 0; i < n; ++i)
      threads_.emplace_back([this] {
        while (!stop_.load()) {
          std::thread t([] {
            std::vector<std::string> junk(64, std::string(100, 'x'));
            (void)junk;
          });
          t.join();
        }
      });
  }
  ~BusyThreads() {
    stop_.store(true);
    for (auto& t : threads_) t.join();
  }
  BusyThreads(const BusyThreads&) = delete;
  BusyThreads& operator=(const BusyThreads&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

// SIGKILL every child of this process (each thread's children): a child stuck before its exec
// then lets its waiting parent go on, and the test can fail instead of hanging.
inline void kill_all_children() {
  DIR* d = ::opendir("/proc/self/task");
  if (!d) return;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream f(std::string("/proc/self/task/") + e->d_name + "/children");
    for (long pid; f >> pid;) ::kill(static_cast<pid_t>(pid), SIGKILL);
  }
  ::closedir(d);
}

// Run `body(stop)` on a thread. If it has not returned within `limit`, set `stop`, kill every
// child (see kill_all_children) until it returns, and answer false.
inline bool finishes_within(std::chrono::seconds limit, const std::function<void(std::atomic<bool>&)>& body) {
  std::atomic<bool> stop{false};
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  std::thread worker([&] {
    body(stop);
    std::lock_guard lock(m);
    done = true;
    cv.notify_all();
  });
  bool in_time;
  {
    std::unique_lock lock(m);
    in_time = cv.wait_for(lock, limit, [&] { return done; });
  }
  if (!in_time) {
    stop.store(true);
    for (;;) {
      kill_all_children();
      std::unique_lock lock(m);
      if (cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return done; })) break;
    }
  }
  worker.join();
  return in_time;
}

}  // namespace podns::test
