#include "fw/nft_loader.hpp"

#include <dlfcn.h>
#include <nftables/libnftables.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <sstream>

namespace podns::fw {
namespace {

// libnftables is loaded the first time a whole table is loaded (network create, reload, gc, a
// table found missing), not at start-up: it pulls in libxtables, libjansson, libgmp and a line
// editor, and a `podns pod create` (map elements through libnftnl) never needs it.
struct NftApi {
  decltype(&nft_ctx_new) ctx_new = nullptr;
  decltype(&nft_ctx_free) ctx_free = nullptr;
  decltype(&nft_ctx_buffer_output) buffer_output = nullptr;
  decltype(&nft_ctx_buffer_error) buffer_error = nullptr;
  decltype(&nft_run_cmd_from_buffer) run_cmd_from_buffer = nullptr;
  decltype(&nft_ctx_get_error_buffer) get_error_buffer = nullptr;
  std::string error;  // why it could not be loaded
};

template <class F>
bool resolve(void* lib, const char* name, F& out) {
  out = reinterpret_cast<F>(::dlsym(lib, name));
  return out != nullptr;
}

const NftApi& nft_api() {
  static NftApi api;
  static std::once_flag once;
  std::call_once(once, [] {
    // The soname Debian's libnftables1 ships; RTLD_LOCAL: its symbols stay out of the process's.
    void* lib = ::dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* why = ::dlerror();
      api.error = std::string("load libnftables.so.1 (install libnftables1): ") + (why ? why : "not found");
      return;
    }
    if (!resolve(lib, "nft_ctx_new", api.ctx_new) || !resolve(lib, "nft_ctx_free", api.ctx_free) ||
        !resolve(lib, "nft_ctx_buffer_output", api.buffer_output) ||
        !resolve(lib, "nft_ctx_buffer_error", api.buffer_error) ||
        !resolve(lib, "nft_run_cmd_from_buffer", api.run_cmd_from_buffer) ||
        !resolve(lib, "nft_ctx_get_error_buffer", api.get_error_buffer)) {
      api.error = "libnftables.so.1 lacks a function podns needs";
      api.ctx_new = nullptr;
    }
  });
  return api;
}

struct NftCtxFree {
  void operator()(nft_ctx* c) const { nft_api().ctx_free(c); }
};
using NftCtx = std::unique_ptr<nft_ctx, NftCtxFree>;

// The errnos nf_tables and libnftables report, found back from their strerror() text in the
// message (libnftables does not keep errno for its caller).
constexpr int kKnownErrnos[] = {EPERM, EACCES, ENOENT, EEXIST, EBUSY, ENOMEM, ENOBUFS, ENOSPC, EMSGSIZE,
                                E2BIG, EOPNOTSUPP, EAFNOSUPPORT, EPROTONOSUPPORT, ERANGE, EOVERFLOW, ELOOP,
                                EINVAL};

bool caret_line(const std::string& line) {
  return line.find_first_not_of(" \t^~") == std::string::npos;
}

}  // namespace

Error nft_error(const std::string& text) {
  std::istringstream in(text);
  std::string one_line;
  for (std::string line; std::getline(in, line);) {
    if (caret_line(line)) continue;
    auto b = line.find_first_not_of(" \t");
    auto e = line.find_last_not_of(" \t\r");
    line = line.substr(b, e - b + 1);
    if (!one_line.empty()) one_line += line.rfind("Error:", 0) == 0 ? "; " : ": ";
    one_line += line;
  }
  constexpr std::size_t kMax = 2000;  // a failing 3000-element script quotes its element, not more
  if (one_line.size() > kMax) one_line = one_line.substr(0, kMax) + "...";
  if (one_line.empty()) one_line = "libnftables failed without a message";
  for (int err : kKnownErrnos) {
    std::string reason = std::strerror(err);
    auto at = one_line.find(reason);
    if (at == std::string::npos) continue;
    // Error::message() appends the reason: do not say it twice.
    if (at >= 2 && one_line.compare(at - 2, 2, ": ") == 0) one_line.erase(at - 2, reason.size() + 2);
    return Error(std::error_code(err, std::generic_category()), std::move(one_line));
  }
  return Error(Errc::invalid_argument, std::move(one_line));
}

Status load_nft_script(const std::string& script) {
  const NftApi& nft = nft_api();
  if (!nft.ctx_new) return fail(Errc::unsupported, nft.error);
  errno = 0;
  NftCtx ctx(nft.ctx_new(NFT_CTX_DEFAULT));
  if (!ctx) return fail_errno(errno ? errno : ENOMEM, "create a libnftables context");
  if (nft.buffer_output(ctx.get()) != 0 || nft.buffer_error(ctx.get()) != 0)
    return fail_errno(ENOMEM, "buffer libnftables output");
  if (nft.run_cmd_from_buffer(ctx.get(), script.c_str()) != 0) {
    const char* err = nft.get_error_buffer(ctx.get());
    return fail(nft_error(err ? err : ""));
  }
  return {};
}

}  // namespace podns::fw
