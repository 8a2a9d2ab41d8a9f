// The init that keeps a pinned pid namespace joinable (ns/pidns_holder.hpp): recorded by pid and
// start time, found again by that record and by nothing else, and it does not keep the creator's
// working directory busy.
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "ns/pidns_holder.hpp"
#include "ns_test_util.hpp"
#include "podns/pin.hpp"
#include "sys/pidfd.hpp"
#include "sys/proc_stat.hpp"
#include "test_support.hpp"

namespace podns {
using test::exists;
using test::TempDir;
using test::TestPaths;

namespace {

struct Record {
  pid_t pid = -1;
  uint64_t start_time = 0;
};

Record read_record(const Paths& paths, const std::string& name) {
  Record r;
  std::ifstream(detail::holder_record_path(paths, name)) >> r.pid >> r.start_time;
  return r;
}

// Whether the process behind `pidfd` exits within `limit` (a pidfd polls readable on exit).
bool exits_within(FdView pidfd, std::chrono::milliseconds limit) {
  pollfd p{pidfd.get(), POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(limit.count())) > 0;
}

std::string cwd_of(pid_t pid) {
  char buf[PATH_MAX] = {};
  ssize_t n = ::readlink(fmt::format("/proc/{}/cwd", pid).c_str(), buf, sizeof buf - 1);
  return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

// Runs the body with the working directory moved to `dir`, and back.
class InDir {
 public:
  explicit InDir(const std::string& dir) {
    if (::getcwd(old_, sizeof old_) == nullptr) old_[0] = '\0';
    EXPECT_EQ(::chdir(dir.c_str()), 0);
  }
  ~InDir() {
    if (old_[0]) (void)!::chdir(old_);
  }

 private:
  char old_[PATH_MAX];
};

}  // namespace

TEST(PidnsHolder, IsRecordedByPidAndStartTimeAndStopsWithItsPin) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  TempDir work("cwd");
  Result<PinnedNamespace> pin = fail(Errc::invalid_argument, "not run");
  {
    InDir in(work.path());  // the creator's cwd: the holder must not keep it
    pin = create_pinned(t.paths, NamespaceType::pid, "rec");
  }
  ASSERT_OK(pin);
  Record rec = read_record(t.paths, "rec");
  ASSERT_GT(rec.pid, 0);
  auto start = sys::process_start_time(rec.pid);
  ASSERT_OK(start);
  EXPECT_EQ(*start, rec.start_time);
  auto member = Namespace::open_pid(rec.pid, NamespaceType::pid);
  ASSERT_OK(member);
  EXPECT_EQ(member->id(), pin->id);
  EXPECT_EQ(cwd_of(rec.pid), "/");
  auto pidfd = sys::pidfd_open(rec.pid);
  ASSERT_OK(pidfd);
  ASSERT_OK(remove_pinned(t.paths, "rec"));
  EXPECT_TRUE(exits_within(pidfd->view(), std::chrono::seconds(10)));
  EXPECT_FALSE(exists(detail::holder_record_path(t.paths, "rec")));
}

TEST(PidnsHolder, ARecordWhoseStartTimeNoLongerMatchesKillsNothing) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  auto pin = create_pinned(t.paths, NamespaceType::pid, "reused");
  ASSERT_OK(pin);
  Record rec = read_record(t.paths, "reused");
  ASSERT_GT(rec.pid, 0);
  auto pidfd = sys::pidfd_open(rec.pid);
  ASSERT_OK(pidfd);
  // As if the holder had died and its pid gone to a later process: the record names that pid with
  // another start time.
  std::ofstream(detail::holder_record_path(t.paths, "reused"), std::ios::trunc)
      << rec.pid << " " << rec.start_time + 1 << "\n";
  ASSERT_OK(remove_pinned(t.paths, "reused"));
  EXPECT_FALSE(exits_within(pidfd->view(), std::chrono::milliseconds(300))) << "killed a process the record no longer names";
  EXPECT_FALSE(exists(detail::holder_record_path(t.paths, "reused")));
  ASSERT_OK(sys::pidfd_signal(pidfd->view(), SIGKILL));
  EXPECT_TRUE(exits_within(pidfd->view(), std::chrono::seconds(10)));
}

TEST(PidnsHolder, AHolderWhosePinWasReplacedBehindPodnsIsStillStopped) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  auto pin = create_pinned(t.paths, NamespaceType::pid, "orphan");
  ASSERT_OK(pin);
  Record rec = read_record(t.paths, "orphan");
  ASSERT_GT(rec.pid, 0);
  auto pidfd = sys::pidfd_open(rec.pid);
  ASSERT_OK(pidfd);
  // The pin goes behind podns's back and another pid namespace (ours) is attached under the name.
  ASSERT_EQ(::umount2(pin->path.c_str(), MNT_DETACH), 0);
  ASSERT_EQ(::unlink(pin->path.c_str()), 0);
  NamespaceType pid = NamespaceType::pid;
  ASSERT_OK(attach(t.paths, "orphan", ::getpid(), std::span<const NamespaceType>(&pid, 1)));
  // The record still names the holder: rm stops it and removes the new pin.
  ASSERT_OK(remove_pinned(t.paths, "orphan"));
  EXPECT_TRUE(exits_within(pidfd->view(), std::chrono::seconds(10))) << "the orphaned holder lives on";
  EXPECT_FALSE(exists(pin->path));
  EXPECT_FALSE(exists(detail::holder_record_path(t.paths, "orphan")));
}

TEST(PidnsHolder, RemovingAnAttachedPidNamespaceKillsNoneOfItsProcesses) {
  PODNS_REQUIRE_ROOT();
  TestPaths t;
  // A container of someone else's: a pid namespace whose init happens to carry the holder's name.
  int pid_pipe[2], ready_pipe[2];
  ASSERT_EQ(::pipe2(pid_pipe, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(ready_pipe, O_CLOEXEC), 0);
  pid_t outer = ::fork();
  ASSERT_GE(outer, 0);
  if (outer == 0) {
    if (::unshare(CLONE_NEWPID) < 0) ::_exit(1);
    pid_t init = ::fork();
    if (init == 0) {
      ::prctl(PR_SET_NAME, detail::kPidnsHolderComm, 0, 0, 0);
      (void)!::write(ready_pipe[1], "r", 1);
      for (;;) ::pause();
    }
    (void)!::write(pid_pipe[1], &init, sizeof init);
    int status;
    while (::waitpid(init, &status, 0) < 0 && errno == EINTR) {
    }
    ::_exit(0);
  }
  ::close(pid_pipe[1]);
  ::close(ready_pipe[1]);
  pid_t init = -1;
  char ready = 0;
  ASSERT_EQ(::read(pid_pipe[0], &init, sizeof init), static_cast<ssize_t>(sizeof init));
  ASSERT_EQ(::read(ready_pipe[0], &ready, 1), 1);
  ::close(pid_pipe[0]);
  ::close(ready_pipe[0]);
  auto pidfd = sys::pidfd_open(init);
  ASSERT_OK(pidfd);

  NamespaceType pid = NamespaceType::pid;
  auto pins = attach(t.paths, "ctr", init, std::span<const NamespaceType>(&pid, 1));
  ASSERT_OK(pins);
  ASSERT_OK(remove_pinned(t.paths, "ctr"));
  EXPECT_FALSE(exits_within(pidfd->view(), std::chrono::milliseconds(300)))
      << "rm of an attached pid namespace killed its init";

  (void)sys::pidfd_signal(pidfd->view(), SIGKILL);
  int status;
  while (::waitpid(outer, &status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace podns
