// Reading back pinned user namespaces: their id maps, the owner of any namespace, pinning that
// owner, `auto` id ranges that avoid every pinned user namespace, and a pinned set by name.
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "podns/names.hpp"
#include "podns/process.hpp"
#include "podns/userns.hpp"
#include "sys/io.hpp"

namespace podns {
namespace {

// Child side: send the contents of one /proc/self file as one datagram (an empty one if unreadable).
void send_file(int sock, const char* path) {
  char buf[16384];
  ssize_t total = 0;
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n;
    while (total < static_cast<ssize_t>(sizeof buf) && (n = ::read(fd, buf + total, sizeof buf - total)) > 0) total += n;
    ::close(fd);
  }
  ::send(sock, buf, static_cast<size_t>(total), MSG_NOSIGNAL);
}

Result<std::string> recv_text(int sock, const char* what) {
  std::string buf(16384, '\0');
  for (;;) {
    ssize_t n = sys::recv(sock, buf.data(), buf.size(), 0);
    if (n >= 0) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    if (errno != EINTR) return fail_errno(fmt::format("read {} from helper", what));
  }
}

}  // namespace

Result<IdMappings> read_userns_idmappings(const Namespace& userns) {
  if (userns.type() != NamespaceType::user)
    return fail(Errc::wrong_namespace_type, fmt::format("read id maps: a {} namespace", to_string(userns.type())));
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return fail_errno("read id maps: socketpair");
  UniqueFd ours(sv[0]), theirs(sv[1]);
  int sock = theirs.get();
  int nsfd = userns.fd().get();
  bool same = false;
  if (auto cur = Namespace::open_current(NamespaceType::user); cur && *cur == userns) same = true;
  // Inside the namespace, /proc/self/uid_map shows it relative to its parent, which is what we
  // want; a helper is needed because only a single-threaded process may join a user namespace.
  auto fn = [sock, nsfd, same] {
    if (!same && ::setns(nsfd, CLONE_NEWUSER) < 0) {
      int err = errno;
      ::send(sock, &err, sizeof err, MSG_NOSIGNAL);
      return 1;
    }
    int ok = 0;
    ::send(sock, &ok, sizeof ok, MSG_NOSIGNAL);
    send_file(sock, "/proc/self/uid_map");
    send_file(sock, "/proc/self/gid_map");
    send_file(sock, "/proc/self/setgroups");
    return 0;
  };
  auto child = clone_process({}, fn);
  if (!child) return fail_with(child, "read id maps");
  theirs.reset();
  int err = 0;
  ssize_t n;
  while ((n = sys::recv(ours.get(), &err, sizeof err, 0)) < 0 && errno == EINTR) {}
  if (n != sizeof err) return fail(Errc::process_exited, "read id maps: helper exited early");
  if (err) return fail_errno(err, "read id maps: join user namespace");
  auto uid = recv_text(ours.get(), "uid_map");
  if (!uid) return fail(uid.error());
  auto gid = recv_text(ours.get(), "gid_map");
  if (!gid) return fail(gid.error());
  auto sg = recv_text(ours.get(), "setgroups");
  if (!sg) return fail(sg.error());
  (void)child->wait();
  IdMappings maps;
  auto u = parse_kernel_idmap(*uid);
  if (!u) return fail_with(u, "uid_map");
  auto g = parse_kernel_idmap(*gid);
  if (!g) return fail_with(g, "gid_map");
  maps.uid = std::move(*u);
  maps.gid = std::move(*g);
  maps.setgroups = sg->rfind("deny", 0) == 0 ? SetGroups::deny : SetGroups::allow;
  return maps;
}

Result<std::vector<IdMappings>> pinned_userns_idmappings(const Paths& paths, std::span<const std::string> known) {
  auto pins = list_pins(paths);
  if (!pins) return fail_with(pins, "id maps of pinned user namespaces");
  std::vector<IdMappings> out;
  for (const auto& p : *pins) {
    if (p.type != NamespaceType::user || !p.live || p.type_mismatch) continue;
    if (std::find(known.begin(), known.end(), p.path) != known.end()) continue;
    auto ns = Namespace::open_path(p.path, NamespaceType::user);
    if (!ns) continue;  // removed meanwhile
    auto maps = read_userns_idmappings(*ns);
    if (!maps) return fail_with(maps, fmt::format("id maps of user namespace {}", p.path));
    out.push_back(std::move(*maps));
  }
  return out;
}

Result<Namespace> owning_userns(const std::string& path) {
  auto ns = Namespace::open_path(path);
  if (!ns) return fail_with(ns, "owner of " + path);
  auto owner = ns->owner_userns();
  if (!owner) return fail_with(owner, "owner of " + path);
  return owner;
}

Result<PinnedNamespace> pin_owning_userns(const Paths& paths, const std::string& path, std::string_view name) {
  std::string what = fmt::format("pin owner of {} as {}", path, name);
  if (auto s = validate_name(name); !s) return fail_with(s, what);
  auto owner = owning_userns(path);
  if (!owner) return fail_with(owner, what);
  if (auto s = prepare_pin_dir(pin_dir(paths, NamespaceType::user)); !s) return fail_with(s, what);
  std::string pin = pin_path(paths, NamespaceType::user, name);
  if (auto s = bind_pin(fmt::format("/proc/self/fd/{}", owner->fd().get()), pin); !s) return fail_with(s, what);
  return PinnedNamespace{NamespaceType::user, std::string(name), pin, owner->id()};
}

Result<PinnedSet> find_pinned_set(const Paths& paths, std::string_view name) {
  if (auto s = validate_name(name); !s) return fail(s.error());
  auto pins = find_pins(paths, name);
  if (!pins) return fail(pins.error());
  PinnedSet set;
  set.name = std::string(name);
  for (const auto& info : all_namespaces())
    for (const auto& p : *pins)
      if (p.type == info.type && p.live && !p.type_mismatch) set.pins.push_back({p.type, p.name, p.path, p.id});
  if (set.pins.empty()) return fail(Errc::not_found, fmt::format("no pinned namespaces named {}", name));
  return set;
}

}  // namespace podns
