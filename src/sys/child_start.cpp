// start_child: clone, run a ChildPlan, and learn through a close-on-exec pipe whether the exec
// happened (EOF) or which step failed (a ChildFailure).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "sys/child.hpp"
#include "sys/io.hpp"

namespace podns::sys {
namespace {

struct StartArgs {
  const ChildPlan* plan;
  int report;
};

int start_main(void* arg) {
  auto* a = static_cast<StartArgs*>(arg);
  ChildFailure f;
  int report = a->report;
  a->plan->run(f, report);
  child_report_and_exit(report, f);
}

}  // namespace

Result<ChildProcess> start_child(const ChildPlan& plan, const CloneOptions& clone) {
  if (auto s = plan.check(); !s) return fail(s.error());
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return fail_errno("start process: pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  StartArgs args{&plan, wr.get()};
  auto child = clone_process(clone, start_main, &args);
  if (!child) return fail_with(child, "start process");
  wr.reset();
  ChildFailure f;
  size_t got = 0;
  while (got < sizeof f) {
    ssize_t n = sys::read(rd.get(), reinterpret_cast<char*>(&f) + got, sizeof f - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  if (got == 0) return child;  // EOF: the exec closed the child's copy of the pipe
  (void)child->wait();
  if (got != sizeof f) return fail(Errc::corrupt, "start process: short failure report");
  return fail_errno(f.err, plan.describe(f));
}

}  // namespace podns::sys
