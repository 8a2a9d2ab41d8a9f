// Real traffic for native-network tests: a TCP or UDP endpoint created inside a pod's netns (the
// socket stays in that netns whatever thread uses it), and a client that connects or sends from
// the host or from another netns the test made. Traffic only ever goes to loopback or to
// addresses inside namespaces the test created.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>

#include "podns/fd.hpp"
#include "podns/run_in_ns.hpp"

namespace podns::test {

inline bool to_sockaddr(const std::string& ip, uint16_t port, sockaddr_storage& ss, socklen_t& len) {
  std::memset(&ss, 0, sizeof ss);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof(sockaddr_in);
    return true;
  }
  if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

// A socket of `type` created inside `netns_path` ("" : here), bound to the wildcard address of
// `family` at `port`, listening when TCP.
inline Result<UniqueFd> endpoint_in(const std::string& netns_path, int family, int type, uint16_t port) {
  auto make = [&]() -> Result<int> {
    int fd = ::socket(family, type | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail_errno("socket");
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage ss{};
    socklen_t len = 0;
    to_sockaddr(family == AF_INET ? "0.0.0.0" : "::", port, ss, len);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0 || (type == SOCK_STREAM && ::listen(fd, 16) < 0)) {
      int err = errno;
      ::close(fd);
      return fail_errno(err, "bind/listen");
    }
    return fd;
  };
  auto fd = netns_path.empty() ? make() : run_in_namespace_path(netns_path, NamespaceType::net, make);
  if (!fd) return fail(fd.error());
  return UniqueFd(*fd);
}

inline bool readable(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

// Connect from `netns_path` ("" : the host) to dst:port, send a line and check that `listener`
// (inside the pod) accepted the connection and received it: the DNAT reached the pod.
inline bool tcp_reaches(const std::string& netns_path, const std::string& dst, uint16_t port, FdView listener,
                        std::chrono::milliseconds timeout = std::chrono::seconds(3)) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (!to_sockaddr(dst, port, ss, len)) return false;
  auto plain = [&]() -> Result<int> {
    int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail_errno("socket");
    return fd;
  };
  auto fd = netns_path.empty() ? plain() : run_in_namespace_path(netns_path, NamespaceType::net, plain);
  if (!fd) return false;
  UniqueFd c(*fd);
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(c.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(c.get(), reinterpret_cast<sockaddr*>(&ss), len) < 0) return false;
  if (::send(c.get(), "hi\n", 3, MSG_NOSIGNAL) != 3) return false;
  if (!readable(listener.get(), timeout)) return false;
  UniqueFd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn || !readable(conn.get(), timeout)) return false;
  char buf[8];
  return ::recv(conn.get(), buf, sizeof buf, 0) == 3;
}

// Send one datagram from `netns_path` ("" : the host) to dst:port; true when `receiver` (a UDP
// endpoint inside the pod) got it.
inline bool udp_reaches(const std::string& netns_path, const std::string& dst, uint16_t port, FdView receiver,
                        std::chrono::milliseconds timeout = std::chrono::seconds(3)) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (!to_sockaddr(dst, port, ss, len)) return false;
  auto plain = [&]() -> Result<int> {
    int fd = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail_errno("socket");
    return fd;
  };
  auto fd = netns_path.empty() ? plain() : run_in_namespace_path(netns_path, NamespaceType::net, plain);
  if (!fd) return false;
  UniqueFd c(*fd);
  if (::sendto(c.get(), "ping", 4, 0, reinterpret_cast<sockaddr*>(&ss), len) != 4) return false;
  if (!readable(receiver.get(), timeout)) return false;
  char buf[8];
  return ::recv(receiver.get(), buf, sizeof buf, 0) == 4;
}

}  // namespace podns::test
