// A handle on one namespace: an owned O_CLOEXEC nsfs fd whose type was checked with NS_GET_NSTYPE.
// Open it by path (a pin, /proc/PID/ns/TYPE), by PID (through a pidfd, verified still alive after
// the open so a recycled PID cannot hand out a stranger's namespace), or the calling thread's.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "podns/error.hpp"
#include "podns/fd.hpp"
#include "podns/namespace_type.hpp"

namespace podns {

// A namespace's identity: the nsfs device and inode (what `ls -L -i /proc/PID/ns/net` shows).
struct NamespaceId {
  dev_t dev = 0;
  ino_t ino = 0;
  friend bool operator==(const NamespaceId&, const NamespaceId&) = default;
};

class Namespace {
 public:
  // Errors, distinct for each case:
  //   path missing                  -> errno ENOENT
  //   not an nsfs file (a regular file, a directory, /proc/self/status, ...) -> Errc::not_a_namespace
  //   a namespace of another type   -> Errc::wrong_namespace_type
  [[nodiscard]] static Result<Namespace> open_path(const std::string& path,
                                                   std::optional<NamespaceType> expected = {});
  // The namespace of type `type` that process `pid` is in (/proc/PID/ns/<proc_entry>). A pidfd is
  // taken first and checked after the open: if the process is gone, Errc::process_exited.
  [[nodiscard]] static Result<Namespace> open_pid(pid_t pid, NamespaceType type);
  // The calling thread's namespace (/proc/thread-self/ns/<proc_entry>).
  [[nodiscard]] static Result<Namespace> open_current(NamespaceType type);
  // Adopt an fd (e.g. from NS_GET_USERNS); validated like open_path.
  [[nodiscard]] static Result<Namespace> from_fd(UniqueFd fd, std::optional<NamespaceType> expected = {});

  Namespace(Namespace&&) noexcept = default;
  Namespace& operator=(Namespace&&) noexcept = default;
  Namespace(const Namespace&) = delete;
  Namespace& operator=(const Namespace&) = delete;

  NamespaceType type() const noexcept { return type_; }
  const NamespaceInfo& info() const noexcept { return namespace_info(type_); }
  FdView fd() const noexcept { return fd_.view(); }
  NamespaceId id() const noexcept { return id_; }
  // A second handle on the same namespace (F_DUPFD_CLOEXEC).
  [[nodiscard]] Result<Namespace> dup() const;
  // Give up the fd.
  [[nodiscard]] UniqueFd release() && { return std::move(fd_); }

  // ioctl_ns(2) queries.
  // The user namespace that owns this one (NS_GET_USERNS); EPERM if it lies outside ours.
  [[nodiscard]] Result<Namespace> owner_userns() const;
  // The parent of a pid or user namespace (NS_GET_PARENT); EPERM at the top of what we may see,
  // EINVAL for other types.
  [[nodiscard]] Result<Namespace> parent() const;
  // The uid that created a user namespace (NS_GET_OWNER_UID); EINVAL for other types.
  [[nodiscard]] Result<uid_t> owner_uid() const;

  friend bool operator==(const Namespace& a, const Namespace& b) noexcept { return a.id_ == b.id_; }

 private:
  Namespace(UniqueFd fd, NamespaceType type, NamespaceId id) : fd_(std::move(fd)), type_(type), id_(id) {}
  UniqueFd fd_;
  NamespaceType type_ = NamespaceType::net;
  NamespaceId id_;
};

}  // namespace podns
