// Listing pins, and mapping between pins and processes (ip netns list / identify / pids).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "podns/names.hpp"
#include "podns/pin.hpp"
#include "sys/netnsid.hpp"
#include "sys/nsfs.hpp"

namespace podns {
namespace {

std::vector<std::string> dir_names(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(std::move(n));
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Netns first (what users look for), then the table order.
std::vector<NamespaceType> listing_order() {
  std::vector<NamespaceType> order{NamespaceType::net};
  for (const auto& info : all_namespaces())
    if (info.type != NamespaceType::net) order.push_back(info.type);
  return order;
}

// Describe one directory entry. Directories and symlinks are skipped (not pins).
std::optional<PinEntry> describe(NamespaceType type, const std::string& dir, const std::string& name) {
  PinEntry e{type, name, dir + "/" + name};
  struct stat lst {};
  if (::lstat(e.path.c_str(), &lst) < 0 || !S_ISREG(lst.st_mode)) return std::nullopt;
  auto ns = Namespace::open_path(e.path);
  if (!ns) return e;  // not live: a stale leftover (or unreadable); live stays false
  e.live = true;
  e.id = ns->id();
  if (ns->type() != type) {
    e.type_mismatch = true;
    e.type = ns->type();
  }
  if (ns->type() == NamespaceType::net) {
    if (auto nsid = sys::netns_get_nsid(ns->fd())) e.nsid = *nsid;
  }
  return e;
}

}  // namespace

Result<std::vector<PinEntry>> list_pins(const Paths& paths) {
  std::vector<PinEntry> out;
  for (NamespaceType t : listing_order()) {
    std::string dir = pin_dir(paths, t);
    for (const auto& name : dir_names(dir))
      if (auto e = describe(t, dir, name)) out.push_back(std::move(*e));
  }
  return out;
}

Result<std::vector<PinEntry>> find_pins(const Paths& paths, std::string_view name) {
  if (auto st = validate_name(name); !st) return fail(std::move(st.error()));
  std::vector<PinEntry> out;
  for (NamespaceType t : listing_order())
    if (auto e = describe(t, pin_dir(paths, t), std::string(name))) out.push_back(std::move(*e));
  return out;
}

Result<PinEntry> find_pin(const Paths& paths, std::string_view name, std::optional<NamespaceType> type) {
  auto pins = find_pins(paths, name);
  if (!pins) return fail(std::move(pins.error()));
  std::erase_if(*pins, [](const PinEntry& p) { return !p.live; });
  const NamespaceType wanted = type.value_or(NamespaceType::net);
  auto it = std::find_if(pins->begin(), pins->end(), [wanted](const PinEntry& p) { return p.type == wanted; });
  if (it != pins->end()) return std::move(*it);
  if (!type && pins->size() == 1) return std::move(pins->front());
  if (!type && pins->size() > 1) {
    std::vector<std::string_view> types;
    for (const auto& p : *pins) types.push_back(to_string(p.type));
    return fail(Errc::invalid_argument,
                fmt::format("{}: pins of types {} share that name, choose a type", name, fmt::join(types, ", ")));
  }
  return fail(Errc::not_found,
              fmt::format("{}: no such pin{}", name, type ? fmt::format(" of type {}", to_string(*type)) : ""));
}

Result<std::vector<PinEntry>> identify(const Paths& paths, pid_t pid) {
  std::string what = fmt::format("identify PID {}", pid);
  std::vector<std::optional<NamespaceId>> ids(all_namespaces().size());
  bool any = false;
  for (const auto& info : all_namespaces()) {
    auto ns = Namespace::open_pid(pid, info.type);
    if (!ns) {
      if (ns.error().is(Errc::not_found) || ns.error().is(Errc::process_exited))
        return fail(std::move(ns.error()));
      continue;  // e.g. no time namespace support
    }
    ids[static_cast<size_t>(info.type)] = ns->id();
    any = true;
  }
  if (!any) return fail(Errc::not_found, what + ": no namespace readable");
  auto pins = list_pins(paths);
  if (!pins) return fail_with(pins, what);
  std::vector<PinEntry> out;
  for (auto& p : *pins) {
    const auto& id = ids[static_cast<size_t>(p.type)];
    if (p.live && id && *id == p.id) out.push_back(std::move(p));
  }
  return out;
}

Result<std::vector<pid_t>> pids_in(NamespaceType type, NamespaceId id) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (!d) return fail_errno("open /proc");
  std::string_view entry = namespace_info(type).proc_entry;
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    std::string path = fmt::format("/proc/{}/ns/{}", pid, entry);
    struct stat st {};
    // stat follows the ns link to the nsfs inode; processes that vanish or that we may not
    // inspect are skipped.
    if (::stat(path.c_str(), &st) == 0 && st.st_dev == id.dev && st.st_ino == id.ino)
      out.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace podns
