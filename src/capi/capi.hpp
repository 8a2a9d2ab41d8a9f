// What every C API function shares: the error object, the one place a podns::Error becomes a C
// error (code, errno, message), and the guard that keeps C++ exceptions inside the library.
#pragma once

#include <cerrno>
#include <cstring>
#include <new>
#include <string>
#include <string_view>

#include "podns/error.hpp"
#include "podns/namespace_type.hpp"
#include "podns/pod/pod.hpp"
#include "podns/podns.h"

struct podns_error {
  int code = PODNS_ERR_SYSTEM;
  int sys_errno = 0;
  std::string message;
};

struct podns_ctx {
  podns::pod::PodEnv env;
  podns_warning_fn warning_fn = nullptr;
  void* warning_arg = nullptr;
};

namespace podns::capi {

// Records `e` for the caller: errno always, *out when asked for. Returns -1 for `return fail(...)`.
int fail(const Error& e, podns_error** out) noexcept;
int fail(Errc code, std::string what, podns_error** out) noexcept;

// Runs `body` (returning int, or a pointer), turning an escaping exception into an error: the C
// caller can neither catch one nor survive one unwinding through its frames.
template <class F>
auto guarded(podns_error** err, F&& body) noexcept -> decltype(body()) {
  using R = decltype(body());
  try {
    return body();
  } catch (const std::bad_alloc&) {
    fail(Error(std::make_error_code(std::errc::not_enough_memory), "out of memory"), err);
  } catch (const std::exception& e) {
    fail(Errc::invalid_argument, std::string("unexpected failure: ") + e.what(), err);
  } catch (...) {
    fail(Errc::invalid_argument, "unexpected failure", err);
  }
  if constexpr (std::is_pointer_v<R>) return nullptr;
  else return R(-1);
}

// A required pointer argument: present, else Errc::invalid_argument naming it.
bool require(const void* value, std::string_view what, podns_error** err);

// The one namespace type of a CLONE_NEW* flag, or Errc::invalid_argument.
Result<NamespaceType> one_type(unsigned long flag);
// The types of an or-ed set of CLONE_NEW* flags, in the table's order; unknown bits are an error.
Result<std::vector<NamespaceType>> types_of(unsigned long flags);

// A copy the caller frees with podns_free (malloc'ed), or nullptr when out of memory.
char* dup_string(std::string_view s) noexcept;

IdMappings to_idmappings(const podns_idmappings& maps);

}  // namespace podns::capi
