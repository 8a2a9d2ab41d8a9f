#include "net/netns_socket.hpp"

#include <sched.h>

#include <system_error>
#include <thread>

#include "net/netlink_socket.hpp"

namespace podns::net::detail {

Result<UniqueFd> route_socket_in(FdView netns_fd) {
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
