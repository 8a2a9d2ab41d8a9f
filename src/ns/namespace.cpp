#include "podns/namespace.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <fmt/format.h>

#include "sys/nsfs.hpp"
#include "sys/pidfd.hpp"

namespace podns {
namespace {

// Check that `fd` is an nsfs file of the expected type; `what` names it for errors.
Result<Namespace> validate(UniqueFd fd, std::optional<NamespaceType> expected, const std::string& what,
                           auto make) {
  auto magic = sys::fs_magic(fd.view());
  if (!magic) return fail_with(magic, what);
  if (*magic != sys::kNsfsMagic) {
    // A /proc file that is no ns link (/proc/self/status), a regular file, a directory, ...
    return fail(Errc::not_a_namespace, what);
  }
  auto flag = sys::ns_get_type(fd.view());
  if (!flag) return fail_with(flag, what);
  auto type = namespace_type_from_clone_flag(*flag);
  if (!type) return fail_with(type, what);
  if (expected && *type != *expected)
    return fail(Errc::wrong_namespace_type,
                fmt::format("{}: is a {} namespace, not {}", what, to_string(*type), to_string(*expected)));
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) return fail_errno(what + ": fstat");
  return make(std::move(fd), *type, NamespaceId{st.st_dev, st.st_ino});
}

}  // namespace

Result<Namespace> Namespace::from_fd(UniqueFd fd, std::optional<NamespaceType> expected) {
  std::string what = fmt::format("namespace fd {}", fd.get());
  return validate(std::move(fd), expected, what,
                  [](UniqueFd f, NamespaceType t, NamespaceId id) { return Namespace(std::move(f), t, id); });
}

Result<Namespace> Namespace::open_path(const std::string& path, std::optional<NamespaceType> expected) {
  std::string what = "open namespace " + path;
  // O_NONBLOCK|O_NOCTTY: the path may be anything a user typed (a FIFO, a tty); never block or
  // acquire a terminal while finding out it is no namespace.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return fail_errno(what);
  return validate(UniqueFd(fd), expected, what,
                  [](UniqueFd f, NamespaceType t, NamespaceId id) { return Namespace(std::move(f), t, id); });
}

Result<Namespace> Namespace::open_pid(pid_t pid, NamespaceType type) {
  std::string what = fmt::format("open {} namespace of PID {}", to_string(type), pid);
  // pidfd first: if the PID is recycled between now and the open below, the liveness check after
  // the open catches it.
  auto pidfd = sys::pidfd_open(pid);
  if (!pidfd) {
    if (pidfd.error().is(std::errc::no_such_process))
      return fail(Errc::not_found, fmt::format("{}: no such process", what));
    return fail_with(pidfd, what);
  }
  std::string path = fmt::format("/proc/{}/ns/{}", pid, namespace_info(type).proc_entry);
  int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  int open_errno = errno;
  UniqueFd fd(raw);
  auto alive = sys::pidfd_is_alive(pidfd->view());
  if (!alive) return fail_with(alive, what);
  if (!*alive) return fail(Errc::process_exited, what);
  if (raw < 0) return fail_errno(open_errno, what + ": open " + path);
  return validate(std::move(fd), type, what,
                  [](UniqueFd f, NamespaceType t, NamespaceId id) { return Namespace(std::move(f), t, id); });
}

Result<Namespace> Namespace::open_current(NamespaceType type) {
  std::string path = fmt::format("/proc/thread-self/ns/{}", namespace_info(type).proc_entry);
  return open_path(path, type);
}

Result<Namespace> Namespace::dup() const {
  int fd = ::fcntl(fd_.get(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return fail_errno("dup namespace fd");
  return Namespace(UniqueFd(fd), type_, id_);
}

Result<Namespace> Namespace::owner_userns() const {
  auto fd = sys::ns_get_userns(fd_.view());
  if (!fd) return fail_with(fd, fmt::format("owning user namespace of {} namespace", to_string(type_)));
  return from_fd(std::move(*fd), NamespaceType::user);
}

Result<Namespace> Namespace::parent() const {
  auto fd = sys::ns_get_parent(fd_.view());
  if (!fd) return fail_with(fd, fmt::format("parent of {} namespace", to_string(type_)));
  return from_fd(std::move(*fd), type_);
}

Result<uid_t> Namespace::owner_uid() const {
  auto uid = sys::ns_get_owner_uid(fd_.view());
  if (!uid) return fail_with(uid, fmt::format("owner uid of {} namespace", to_string(type_)));
  return *uid;
}

}  // namespace podns
