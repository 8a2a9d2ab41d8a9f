// podns::Error and podns::Result: errors are values with context.
//
// An Error is a std::error_code (errno values in std::generic_category, or podns::Errc) plus a chain
// of "doing what" strings added at each layer, innermost last, so the user reads one line such as
//   pin netns web: bind /proc/42/ns/net on /run/netns/web: Device or resource busy
// The library never throws across its API and never prints; the CLI reports once.
#pragma once

#include <cerrno>
#include <expected>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace podns {

// podns's own error conditions, for failures that have no fitting errno.
enum class Errc {
  invalid_name = 1,      // a pod/ns/network name or ifname that breaks the naming rules
  invalid_argument,      // malformed input (maps, ports, JSON, flags)
  not_a_namespace,       // the path exists but is no nsfs file
  wrong_namespace_type,  // a namespace, but of another type than asked for
  already_exists,        // a pin, pod or cache entry of that name is already there
  not_found,             // no such pin, pod, network or plugin
  process_exited,        // the process a pidfd refers to is gone
  plugin_failed,         // a CNI plugin or helper reported an error or crashed
  timed_out,             // a deadline ran out (a hung plugin or helper)
  corrupt,               // unparseable state, cache or config
  unsupported,           // the kernel or a peer tool lacks a feature
  busy,                  // locked or in use by another operation
  outside_base_dir,      // a path that resolves outside the directory it must stay in
  wrong_thread_model,    // an operation a multi-threaded process cannot do (user/time ns)
  thread_stranded,       // a thread that could not switch back into its own namespace (run_in_ns.hpp)
};

const std::error_category& podns_category() noexcept;
std::error_code make_error_code(Errc e) noexcept;

}  // namespace podns

template <>
struct std::is_error_code_enum<podns::Errc> : std::true_type {};

namespace podns {

class [[nodiscard]] Error {
 public:
  Error() = default;
  Error(std::error_code code, std::string what) : code_(code), what_(std::move(what)) {}
  Error(Errc code, std::string what) : Error(make_error_code(code), std::move(what)) {}

  // errno as set by the failed call (captured at construction).
  static Error from_errno(std::string what) { return from_errno(errno, std::move(what)); }
  static Error from_errno(int err, std::string what) {
    return Error(std::error_code(err, std::generic_category()), std::move(what));
  }

  // Prepend what the caller was doing: "pin netns web" + "bind ...: EBUSY".
  Error& context(std::string_view doing) & {
    what_ = what_.empty() ? std::string(doing) : std::string(doing) + ": " + what_;
    return *this;
  }
  Error&& context(std::string_view doing) && { return std::move(context(doing)); }

  const std::error_code& code() const noexcept { return code_; }
  // The errno, or 0 when the code is not a system error.
  int sys_errno() const noexcept {
    return code_.category() == std::generic_category() || code_.category() == std::system_category()
               ? code_.value() : 0;
  }
  bool is(Errc e) const noexcept { return code_ == make_error_code(e); }
  bool is(std::errc e) const noexcept { return code_ == std::make_error_code(e); }
  const std::string& what() const noexcept { return what_; }
  // "<context chain>: <reason>", the line the CLI prints after "podns: ".
  std::string message() const;

 private:
  std::error_code code_;
  std::string what_;
};

template <class T>
using Result = std::expected<T, Error>;
using Status = Result<void>;

// `return fail(Errc::not_found, "pod web");` / `return fail_errno("open " + path);`
inline std::unexpected<Error> fail(Errc code, std::string what) {
  return std::unexpected(Error(code, std::move(what)));
}
inline std::unexpected<Error> fail(Error e) { return std::unexpected(std::move(e)); }
inline std::unexpected<Error> fail_errno(std::string what) {
  return std::unexpected(Error::from_errno(errno, std::move(what)));
}
inline std::unexpected<Error> fail_errno(int err, std::string what) {
  return std::unexpected(Error::from_errno(err, std::move(what)));
}

// Forward a failed Result with one more layer of context:
//   if (!r) return fail_with(r, "pin netns web");
template <class T>
std::unexpected<Error> fail_with(const Result<T>& r, std::string_view doing) {
  return std::unexpected(Error(r.error()).context(doing));
}

}  // namespace podns
