#include "podns/ns_info.hpp"

#include <sys/stat.h>

#include "podns/pin.hpp"
#include "sys/netnsid.hpp"

namespace podns {

Result<NamespaceDetails> describe_namespace(const Namespace& ns, std::string path) {
  NamespaceDetails d{std::move(path), ns.type(), ns.id()};
  if (auto owner = ns.owner_userns()) {
    d.userns_inode = owner->id().ino;
    if (auto uid = owner->owner_uid()) d.owner_uid = *uid;
  }
  if (ns.type() == NamespaceType::user) {
    if (auto uid = ns.owner_uid()) d.creator_uid = *uid;
  }
  if (ns.type() == NamespaceType::pid || ns.type() == NamespaceType::user) {
    if (auto parent = ns.parent()) d.parent_inode = parent->id().ino;
  }
  if (ns.type() == NamespaceType::net) {
    auto nsid = sys::netns_get_nsid(ns.fd());
    if (!nsid) return fail_with(nsid, "nsid");
    d.nsid = *nsid;
  }
  return d;
}

Result<NamespaceDetails> describe_namespace(const std::string& path) {
  auto ns = Namespace::open_path(path);
  if (!ns) return fail(std::move(ns.error()));
  return describe_namespace(*ns, path);
}

Result<NamespaceDetails> describe_namespace(const Paths& paths, const std::string& path_or_name,
                                            std::optional<NamespaceType> type) {
  std::string path = path_or_name;
  struct stat st {};
  if (path_or_name.find('/') == std::string::npos && ::stat(path_or_name.c_str(), &st) < 0) {
    auto pin = find_pin(paths, path_or_name, type);
    if (!pin) return fail(std::move(pin.error()));
    path = pin->path;
  }
  auto ns = Namespace::open_path(path, type);
  if (!ns) return fail(std::move(ns.error()));
  return describe_namespace(*ns, path);
}

}  // namespace podns
