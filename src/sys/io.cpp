#include "sys/io.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "sys/fault.hpp"

namespace podns::sys {
namespace {

bool injected(std::string_view point) {
  if (int err = fault::injected_error(point)) {
    errno = err;
    return true;
  }
  return false;
}

}  // namespace

ssize_t read(int fd, void* buf, size_t count) {
  if (injected(fault::kRead)) return -1;
  return ::read(fd, buf, count);
}

ssize_t write(int fd, const void* buf, size_t count) {
  if (injected(fault::kWrite)) return -1;
  return ::write(fd, buf, count);
}

ssize_t send(int fd, const void* buf, size_t count, int flags) {
  if (injected(fault::kSend)) return -1;
  return ::send(fd, buf, count, flags);
}

ssize_t recv(int fd, void* buf, size_t count, int flags) {
  if (injected(fault::kRecv)) return -1;
  return ::recv(fd, buf, count, flags);
}

}  // namespace podns::sys
