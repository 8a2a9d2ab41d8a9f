// Everything ioctl_ns(2) and rtnetlink say about one namespace file: `podns ns info`.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "podns/error.hpp"
#include "podns/namespace.hpp"
#include "podns/paths.hpp"

namespace podns {

struct NamespaceDetails {
  std::string path;
  NamespaceType type;
  NamespaceId id;
  std::optional<ino_t> userns_inode;   // the owning user namespace; nullopt when outside ours (EPERM)
  std::optional<uid_t> owner_uid;      // the uid that created the owning user namespace
  std::optional<uid_t> creator_uid;    // user namespaces: who created this one
  std::optional<ino_t> parent_inode;   // pid and user namespaces: the parent, when visible
  std::optional<int> nsid;             // netns: its peer id as seen from ours, when assigned
};

// Describe the namespace behind `ns`; `path` is only echoed.
[[nodiscard]] Result<NamespaceDetails> describe_namespace(const Namespace& ns, std::string path = {});
// Open `path` (Namespace::open_path errors) and describe it.
[[nodiscard]] Result<NamespaceDetails> describe_namespace(const std::string& path);
// `ns info`'s argument: a path, or a bare name (no '/') that is no file in the working directory,
// which names a pin (find_pin: of `type`, else the netns, else the only pin of that name). A
// path's namespace must be of `type` when one is given (Errc::wrong_namespace_type).
[[nodiscard]] Result<NamespaceDetails> describe_namespace(const Paths& paths, const std::string& path_or_name,
                                                          std::optional<NamespaceType> type = std::nullopt);

}  // namespace podns
