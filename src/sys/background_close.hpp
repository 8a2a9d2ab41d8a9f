// Some closes make the closer wait for work nobody has to see finish: the last close of an
// nf_tables socket whose transactions removed elements waits for an RCU grace period (10-15 ms
// here, while creating a pod takes 3). A process about to exit hands such fds to a closer.
#pragma once

#include <span>

#include "podns/error.hpp"

namespace podns::sys {

// Starts a detached closer: a grandchild (reparented to init or the nearest subreaper, so nobody
// here reaps it) named "podns-close", holding copies of `fds` and nothing else. It closes every
// other fd first (stdin, stdout and stderr too, so nobody waits for an EOF or a lock because of
// it), leaves the working directory for "/" (it must not keep a mount busy), waits for one RCU
// grace period (membarrier MEMBARRIER_CMD_GLOBAL: work the kernel deferred before that, such as
// freeing removed nf_tables elements, is done or nearly so), then closes `fds` and exits. The
// caller closes its own copies as usual: they are no longer the last. Returns once the closer
// exists; an error (clone failed) changes nothing and the caller's closes wait as they would have.
[[nodiscard]] Status close_in_background(std::span<const int> fds);

}  // namespace podns::sys
