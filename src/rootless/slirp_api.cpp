#include "rootless/slirp_api.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "podns/fd.hpp"
#include "podns/json_dump.hpp"
#include "podns/json_integer.hpp"
#include "podns/json_parse.hpp"
#include "sys/io.hpp"

namespace podns::rootless::detail {
namespace {

using Clock = std::chrono::steady_clock;

// slirp4netns's replies are a few hundred bytes; anything near this is not slirp4netns talking.
constexpr std::size_t kMaxReplyBytes = 1u << 20;

// Wait for `events` on fd until the deadline.
Status wait_for(int fd, short events, Clock::time_point deadline, const std::string& what) {
  pollfd p = {fd, events, 0};
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left < 0) left = 0;
    int r = poll(&p, 1, static_cast<int>(left));
    if (r > 0) return {};
    if (r == 0) return fail(Errc::timed_out, what);
    if (errno != EINTR) return fail_errno(what);
  }
}

}  // namespace

bool fits_sockaddr_un(const std::string& path) { return path.size() < sizeof(sockaddr_un{}.sun_path); }

Result<nlohmann::json> slirp_api_call(const std::string& socket_path, const nlohmann::json& request,
                                      std::chrono::milliseconds timeout) {
  const std::string op = request.value("execute", "request");
  auto err = [&](Error e) { return fail(std::move(e.context(fmt::format("slirp4netns API {}", op)))); };
  if (!fits_sockaddr_un(socket_path))
    return err(Error(Errc::invalid_argument, fmt::format("socket path {} is longer than {} bytes", socket_path,
                                                          sizeof(sockaddr_un{}.sun_path) - 1)));
  auto deadline = Clock::now() + timeout;
  UniqueFd sock(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!sock) return err(Error::from_errno("socket"));
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    if (errno != EINPROGRESS && errno != EAGAIN) return err(Error::from_errno("connect " + socket_path));
    if (auto w = wait_for(sock.get(), POLLOUT, deadline, "connect " + socket_path); !w) return err(w.error());
  }
  std::string body = json_dump(request);
  for (size_t off = 0; off < body.size();) {
    ssize_t n = sys::send(sock.get(), body.data() + off, body.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) return err(Error::from_errno("send"));
      if (auto w = wait_for(sock.get(), POLLOUT, deadline, "send"); !w) return err(w.error());
      continue;
    }
    off += static_cast<size_t>(n);
  }
  // slirp4netns reads the request until EOF: shut our write side so it knows the request is whole.
  if (shutdown(sock.get(), SHUT_WR) < 0) return err(Error::from_errno("shutdown"));
  std::string reply;
  char buf[4096];
  for (;;) {
    ssize_t n = sys::recv(sock.get(), buf, sizeof buf, 0);
    if (n > 0) {
      reply.append(buf, static_cast<size_t>(n));
      if (reply.size() > kMaxReplyBytes) return err(Error(Errc::corrupt, "reply larger than 1 MiB"));
      continue;
    }
    if (n == 0) break;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return err(Error::from_errno("recv"));
    if (auto w = wait_for(sock.get(), POLLIN, deadline, "wait for reply"); !w) return err(w.error());
  }
  auto r = parse_api_reply(op, reply);
  if (!r) return err(std::move(r.error()));
  return r;
}

Result<nlohmann::json> parse_api_reply(std::string_view op, std::string_view reply) {
  // Size- and depth-limited: the error branch below prints what it got, and printing a reply
  // nested a million deep would overflow the stack.
  auto parsed = parse_json(reply, {.max_bytes = kMaxReplyBytes});
  if (!parsed)
    return fail(Errc::corrupt, fmt::format("unparseable reply \"{}\": {}", reply.substr(0, 200), parsed.error().what()));
  nlohmann::json& j = *parsed;
  if (!j.is_object()) return fail(Errc::corrupt, fmt::format("reply \"{}\" is no object", reply.substr(0, 200)));
  if (auto e = j.find("error"); e != j.end()) {
    auto d = e->is_object() ? e->find("desc") : e->end();  // value() would throw on a non-string desc
    std::string desc = d != e->end() && d->is_string() ? d->get<std::string>() : json_dump(*e);
    return fail(Errc::plugin_failed, desc);
  }
  if (auto r = j.find("return"); r != j.end()) return *r;
  // slirp4netns (1.x) answers list_hostfwd with a bare {"entries": [...]}, without "return".
  if (op == "list_hostfwd" && j.contains("entries")) return j;
  return fail(Errc::corrupt, fmt::format("reply \"{}\" has neither return nor error", reply.substr(0, 200)));
}

Result<int> slirp_add_hostfwd(const std::string& socket_path, const PortForward& f) {
  nlohmann::json req = {{"execute", "add_hostfwd"},
                        {"arguments",
                         {{"proto", proto_name(f.proto)},
                          {"host_addr", f.host_ip.empty() ? "0.0.0.0" : f.host_ip},
                          {"host_port", f.host_port},
                          {"guest_port", f.container_port}}}};
  auto r = slirp_api_call(socket_path, req);
  if (!r) return std::unexpected(r.error());
  return hostfwd_id_from(*r);
}

Result<int> hostfwd_id_from(const nlohmann::json& ret) {
  auto id = ret.is_object() && ret.contains("id") ? json_integer<int>(ret["id"]) : std::nullopt;
  if (!id) return fail(Errc::corrupt, fmt::format("slirp4netns API add_hostfwd: reply without an id: {}", json_dump(ret)));
  return *id;
}

Status slirp_remove_hostfwd(const std::string& socket_path, int id) {
  nlohmann::json req = {{"execute", "remove_hostfwd"}, {"arguments", {{"id", id}}}};
  auto r = slirp_api_call(socket_path, req);
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<std::vector<PortForward>> slirp_list_hostfwd(const std::string& socket_path) {
  auto r = slirp_api_call(socket_path, {{"execute", "list_hostfwd"}});
  if (!r) return std::unexpected(r.error());
  return hostfwds_from(*r);
}

Result<std::vector<PortForward>> hostfwds_from(const nlohmann::json& ret) {
  std::vector<PortForward> out;
  try {
    for (auto& e : ret.at("entries")) {
      PortForward f;
      f.id = json_integer_at<int>(e, "id");
      f.proto = e.at("proto").get<std::string>() == "udp" ? Proto::udp : Proto::tcp;
      f.host_ip = e.value("host_addr", "0.0.0.0");
      if (f.host_ip == "0.0.0.0") f.host_ip.clear();
      f.host_port = json_integer_at<uint16_t>(e, "host_port");
      f.container_port = json_integer_at<uint16_t>(e, "guest_port");
      out.push_back(std::move(f));
    }
  } catch (const nlohmann::json::exception& e) {
    return fail(Errc::corrupt, fmt::format("slirp4netns API list_hostfwd: {}: {}", e.what(), json_dump(ret)));
  }
  return out;
}

}  // namespace podns::rootless::detail
