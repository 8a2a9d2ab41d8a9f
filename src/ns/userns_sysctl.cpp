// Sysctls written inside the namespaces of a new set. Only namespaced keys are accepted, and only
// when their namespace is part of the set: anything else would change the host.
#include <algorithm>
#include <string>

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include "podns/run_in_ns.hpp"
#include "podns/userns.hpp"

namespace podns {

Result<Sysctl> parse_sysctl(std::string_view text) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return fail(Errc::invalid_argument, fmt::format("sysctl \"{}\": want KEY=VALUE", text));
  Sysctl s{std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
  if (auto t = sysctl_namespace(s.key); !t) return fail(t.error());
  if (s.value.find('\n') != std::string::npos)
    return fail(Errc::invalid_argument, fmt::format("sysctl {}: value contains a newline", s.key));
  return s;
}

namespace {

// "net.ipv4.ip_forward" -> "net/ipv4/ip_forward"; a slashed key is kept as is (it can name an
// interface with a dot in it, net/ipv4/conf/eth0.1/forwarding), like sysctl(8).
std::string key_path(std::string_view key) {
  std::string k(key);
  if (k.find('/') == std::string::npos) std::replace(k.begin(), k.end(), '.', '/');
  return k;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

}  // namespace

Result<NamespaceType> sysctl_namespace(std::string_view key) {
  std::string path = key_path(key);
  auto bad = [&](std::string_view why) {
    return fail(Errc::invalid_argument, fmt::format("sysctl {}: {}", key, why));
  };
  if (path.empty() || path.front() == '/' || path.back() == '/') return bad("malformed key");
  size_t start = 0;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    std::string_view comp(path.data() + start, (slash == std::string::npos ? path.size() : slash) - start);
    if (comp.empty() || comp == "." || comp == "..") return bad("malformed key");
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  // The namespaced sysctls, as runc and the kernel's ipc/uts/net sysctl tables have them.
  if (starts_with(path, "net/")) return NamespaceType::net;
  if (path == "kernel/hostname" || path == "kernel/domainname") return NamespaceType::uts;
  if (starts_with(path, "fs/mqueue/") || path == "kernel/sem" || starts_with(path, "kernel/msg") ||
      starts_with(path, "kernel/shm"))
    return NamespaceType::ipc;
  return bad("not a namespaced sysctl (only net.*, kernel.hostname, kernel.domainname, kernel.msg*, "
             "kernel.sem, kernel.shm* and fs.mqueue.* can be set inside a namespace)");
}

Status write_sysctls(const std::vector<PinnedNamespace>& pins, const std::vector<Sysctl>& sysctls) {
  for (const auto& sc : sysctls) {
    auto type = sysctl_namespace(sc.key);
    if (!type) return fail(type.error());
    const PinnedNamespace* pin = nullptr;
    for (const auto& p : pins)
      if (p.type == *type) pin = &p;
    if (!pin)
      return fail(Errc::invalid_argument,
                  fmt::format("sysctl {}: needs a {} namespace in the set (it would change the host's)", sc.key,
                              to_string(*type)));
    std::string path = "/proc/sys/" + key_path(sc.key);
    // /proc/sys/net and friends show the calling thread's namespaces: enter on this thread only.
    auto st = run_in_namespace_path(pin->path, *type, [&]() -> Status {
      if (path == "/proc/sys/kernel/hostname") {
        if (::sethostname(sc.value.data(), sc.value.size()) < 0) return fail_errno("sethostname");
        return {};
      }
      UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
      if (!fd) return fail_errno("open " + path);
      if (::write(fd.get(), sc.value.data(), sc.value.size()) < 0) return fail_errno("write " + path);
      return {};
    });
    if (!st) return fail_with(st, fmt::format("set sysctl {}={}", sc.key, sc.value));
  }
  return {};
}

namespace detail {
std::string sysctl_proc_path(std::string_view key) { return "/proc/sys/" + key_path(key); }
}  // namespace detail

}  // namespace podns
