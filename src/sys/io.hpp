// read(2), write(2), send(2) and recv(2) on the pipes and sockets podns shares with its children
// and helpers. A signal handler of the program that links libpodns can interrupt any of them
// (EINTR), which the kernel will not do on demand: these wrappers are the fault points
// (sys.read, sys.write, sys.send, sys.recv) where the tests do it, so every caller's retry is
// exercised. Same contract as the system calls; parent side only (never in a cloned child:
// see sys/fault.hpp).
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace podns::sys {

ssize_t read(int fd, void* buf, size_t count);
ssize_t write(int fd, const void* buf, size_t count);
ssize_t send(int fd, const void* buf, size_t count, int flags);
ssize_t recv(int fd, void* buf, size_t count, int flags);

}  // namespace podns::sys
