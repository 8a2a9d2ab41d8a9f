// TODO(ns layer): engineer A's ns/ layer (Namespace::open_path, run_in_namespace) had not landed
// when this was written; this file is the net layer's private, minimal version of both.
#include "net/netns_socket.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>

#include <system_error>
#include <thread>

#include "net/netlink_socket.hpp"

namespace podns::net::detail {

Status check_netns_fd(FdView fd) {
  struct statfs fs {};
  if (::fstatfs(fd.get(), &fs) < 0) return fail_errno("fstatfs");
  if (fs.f_type != NSFS_MAGIC) return fail(Errc::not_a_namespace, "not an nsfs file");
  int type = ::ioctl(fd.get(), NS_GET_NSTYPE);
  if (type < 0) return fail_errno("ioctl NS_GET_NSTYPE");
  if (type != CLONE_NEWNET) return fail(Errc::wrong_namespace_type, "not a network namespace");
  return {};
}

Result<UniqueFd> open_netns(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return fail_errno("open " + path);
  if (auto st = check_netns_fd(fd.view()); !st) return fail_with(st, path);
  return fd;
}

Result<UniqueFd> route_socket_in(FdView netns_fd) {
  // setns(CLONE_NEWNET) is per thread, so a thread of our own can enter the pod's netns while the
  // rest of the process (and a thread pool calling us) stays where it is. The thread exits right
  // after; the socket keeps the netns it was created in.
  Result<UniqueFd> sock = fail(Errc::unsupported, "netns thread did not run");
  try {
    std::thread worker([&] {
      if (::setns(netns_fd.get(), CLONE_NEWNET) < 0) {
        sock = fail_errno("setns(CLONE_NEWNET)");
        return;
      }
      sock = open_route_socket();
    });
    worker.join();
  } catch (const std::system_error& e) {
    return fail_errno(e.code().value(), "start a thread to enter the netns");
  }
  return sock;
}

}  // namespace podns::net::detail
