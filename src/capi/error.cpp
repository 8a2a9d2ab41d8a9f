#include <fmt/format.h>

#include <cstdlib>

#include "capi/capi.hpp"
#include "podns/namespace_type.hpp"

namespace podns::capi {
namespace {

struct CodeAndErrno {
  int code;
  int sys_errno;
};

// podns's own conditions as a C caller knows them: the code, and the errno closest in meaning.
CodeAndErrno c_error_of(const Error& e) {
  if (int n = e.sys_errno()) return {PODNS_ERR_SYSTEM, n};
  if (e.code().category() != podns_category()) return {PODNS_ERR_SYSTEM, EIO};
  switch (static_cast<Errc>(e.code().value())) {
    case Errc::invalid_name: return {PODNS_ERR_INVALID_NAME, EINVAL};
    case Errc::invalid_argument: return {PODNS_ERR_INVALID_ARGUMENT, EINVAL};
    case Errc::not_a_namespace: return {PODNS_ERR_NOT_A_NAMESPACE, EINVAL};
    case Errc::wrong_namespace_type: return {PODNS_ERR_WRONG_NAMESPACE_TYPE, EINVAL};
    case Errc::already_exists: return {PODNS_ERR_ALREADY_EXISTS, EEXIST};
    case Errc::not_found: return {PODNS_ERR_NOT_FOUND, ENOENT};
    case Errc::process_exited: return {PODNS_ERR_PROCESS_EXITED, ESRCH};
    case Errc::plugin_failed: return {PODNS_ERR_PLUGIN_FAILED, EIO};
    case Errc::timed_out: return {PODNS_ERR_TIMED_OUT, ETIMEDOUT};
    case Errc::corrupt: return {PODNS_ERR_CORRUPT, EBADMSG};
    case Errc::unsupported: return {PODNS_ERR_UNSUPPORTED, EOPNOTSUPP};
    case Errc::busy: return {PODNS_ERR_BUSY, EBUSY};
    case Errc::outside_base_dir: return {PODNS_ERR_OUTSIDE_BASE_DIR, EXDEV};
    case Errc::wrong_thread_model: return {PODNS_ERR_WRONG_THREAD_MODEL, EINVAL};
    case Errc::thread_stranded: return {PODNS_ERR_THREAD_STRANDED, ENOTRECOVERABLE};
  }
  return {PODNS_ERR_SYSTEM, EIO};
}

}  // namespace

int fail(const Error& e, podns_error** out) noexcept {
  auto [code, sys_errno] = c_error_of(e);
  if (out) {
    *out = nullptr;
    try {
      *out = new podns_error{code, sys_errno, e.message()};
    } catch (...) {
      // Out of memory: errno still tells the caller what failed.
    }
  }
  errno = sys_errno;
  return -1;
}

int fail(Errc code, std::string what, podns_error** out) noexcept { return fail(Error(code, std::move(what)), out); }

bool require(const void* value, std::string_view what, podns_error** err) {
  if (value) return true;
  fail(Errc::invalid_argument, fmt::format("{} is NULL", what), err);
  return false;
}

Result<NamespaceType> one_type(unsigned long flag) {
  for (const auto& info : all_namespaces())
    if (static_cast<unsigned long>(info.clone_flag) == flag) return info.type;
  return fail(Errc::invalid_argument, fmt::format("{:#x} is not one CLONE_NEW* flag", flag));
}

Result<std::vector<NamespaceType>> types_of(unsigned long flags) {
  std::vector<NamespaceType> out;
  unsigned long known = 0;
  for (const auto& info : all_namespaces()) {
    known |= static_cast<unsigned long>(info.clone_flag);
    if (flags & static_cast<unsigned long>(info.clone_flag)) out.push_back(info.type);
  }
  if (flags & ~known) return fail(Errc::invalid_argument, fmt::format("{:#x} holds bits that are no CLONE_NEW* flag", flags));
  return out;
}

char* dup_string(std::string_view s) noexcept {
  auto* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (!p) return nullptr;
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

IdMappings to_idmappings(const podns_idmappings& maps) {
  IdMappings out;
  for (size_t i = 0; i < maps.n_uid; ++i) out.uid.push_back({maps.uid[i].container_id, maps.uid[i].host_id, maps.uid[i].size});
  for (size_t i = 0; i < maps.n_gid; ++i) out.gid.push_back({maps.gid[i].container_id, maps.gid[i].host_id, maps.gid[i].size});
  out.setgroups = maps.deny_setgroups ? SetGroups::deny : SetGroups::allow;
  return out;
}

}  // namespace podns::capi

using namespace podns;

extern "C" {

#define PODNS_STRINGIFY_(x) #x
#define PODNS_STRINGIFY(x) PODNS_STRINGIFY_(x)
const char* podns_version(void) {
  return PODNS_STRINGIFY(PODNS_VERSION_MAJOR) "." PODNS_STRINGIFY(PODNS_VERSION_MINOR) "." PODNS_STRINGIFY(
      PODNS_VERSION_PATCH);
}

int podns_error_code(const podns_error* err) { return err ? err->code : PODNS_ERR_SYSTEM; }
int podns_error_errno(const podns_error* err) { return err ? err->sys_errno : 0; }
const char* podns_error_message(const podns_error* err) { return err ? err->message.c_str() : ""; }
void podns_error_free(podns_error* err) { delete err; }
void podns_free(void* p) { std::free(p); }

}  // extern "C"
