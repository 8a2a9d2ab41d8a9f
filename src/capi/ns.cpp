// The C API's context, pins, user-namespace-owned sets and run-in-namespace.
#include <fmt/format.h>

#include "capi/capi.hpp"
#include "podns/json_dump.hpp"
#include "podns/names.hpp"
#include "podns/oci.hpp"
#include "podns/pin.hpp"
#include "podns/run_in_ns.hpp"
#include "podns/userns.hpp"

using namespace podns;
using capi::fail;
using capi::guarded;
using capi::require;

extern "C" {

podns_ctx* podns_ctx_new(const char* run_dir, const char* state_dir, podns_error** err) {
  return guarded(err, [&]() -> podns_ctx* {
    if (!run_dir != !state_dir) {
      fail(Errc::invalid_argument, "podns context: give both run_dir and state_dir, or neither", err);
      return nullptr;
    }
    Paths paths = run_dir ? Paths::under(run_dir, state_dir) : Paths::from_environment();
    auto* ctx = new podns_ctx{pod::PodEnv::from_paths(std::move(paths))};
    ctx->env.on_warning = [ctx](const Error& e) {
      if (ctx->warning_fn) ctx->warning_fn(e.message().c_str(), ctx->warning_arg);
    };
    return ctx;
  });
}

void podns_ctx_free(podns_ctx* ctx) { delete ctx; }

void podns_ctx_set_warning_handler(podns_ctx* ctx, podns_warning_fn fn, void* arg) {
  if (!ctx) return;
  ctx->warning_fn = fn;
  ctx->warning_arg = arg;
}

int podns_ns_create(podns_ctx* ctx, const char* name, unsigned long types, podns_error** err) {
  return guarded(err, [&] {
    if (!require(ctx, "ctx", err) || !require(name, "name", err)) return -1;
    auto list = capi::types_of(types);
    if (!list) return fail(Error(list.error()).context("ns create"), err);
    if (list->empty()) return fail(Errc::invalid_argument, "ns create: no namespace type given", err);
    auto pins = create_pinned(ctx->env.paths, *list, name);
    return pins ? 0 : fail(pins.error(), err);
  });
}

int podns_ns_attach(podns_ctx* ctx, const char* name, pid_t pid, unsigned long types, podns_error** err) {
  return guarded(err, [&] {
    if (!require(ctx, "ctx", err) || !require(name, "name", err)) return -1;
    auto list = capi::types_of(types);
    if (!list) return fail(Error(list.error()).context("ns attach"), err);
    auto pins = attach(ctx->env.paths, name, pid, *list);
    return pins ? 0 : fail(pins.error(), err);
  });
}

int podns_ns_remove(podns_ctx* ctx, const char* name, unsigned long types, podns_error** err) {
  return guarded(err, [&] {
    if (!require(ctx, "ctx", err) || !require(name, "name", err)) return -1;
    auto list = capi::types_of(types);
    if (!list) return fail(Error(list.error()).context("ns rm"), err);
    auto s = remove_pinned(ctx->env.paths, name, *list);
    return s ? 0 : fail(s.error(), err);
  });
}

char* podns_ns_path(podns_ctx* ctx, const char* name, unsigned long type, podns_error** err) {
  return guarded(err, [&]() -> char* {
    if (!require(ctx, "ctx", err) || !require(name, "name", err)) return nullptr;
    auto t = capi::one_type(type);
    if (!t) return fail(t.error(), err), nullptr;
    if (auto v = validate_name(name); !v) return fail(v.error(), err), nullptr;
    char* out = capi::dup_string(pin_path(ctx->env.paths, *t, name));
    if (!out) fail(Error(std::make_error_code(std::errc::not_enough_memory), "ns path"), err);
    return out;
  });
}

int podns_ns_open(podns_ctx* ctx, const char* name, unsigned long type, podns_error** err) {
  return guarded(err, [&] {
    if (!require(ctx, "ctx", err) || !require(name, "name", err)) return -1;
    auto t = capi::one_type(type);
    if (!t) return fail(t.error(), err);
    if (auto v = validate_name(name); !v) return fail(v.error(), err);
    auto ns = Namespace::open_path(pin_path(ctx->env.paths, *t, name), *t);
    if (!ns) return fail(Error(ns.error()).context(fmt::format("open {} pin {}", to_string(*t), name)), err);
    return std::move(*ns).release().release();
  });
}

int podns_userns_set_create(podns_ctx* ctx, const char* name, unsigned long types, const podns_idmappings* maps,
                            const char* const* sysctls, podns_error** err) {
  return guarded(err, [&] {
    if (!require(ctx, "ctx", err) || !require(name, "name", err)) return -1;
    if (!maps) return fail(Errc::invalid_argument, "userns set: maps is NULL", err);
    auto list = capi::types_of(types);
    if (!list) return fail(Error(list.error()).context("userns set"), err);
    UsernsSetRequest req;
    req.paths = ctx->env.paths;
    req.name = name;
    req.types = std::move(*list);
    req.idmaps = capi::to_idmappings(*maps);
    for (auto s = sysctls; s && *s; ++s) {
      auto sc = parse_sysctl(*s);
      if (!sc) return fail(sc.error(), err);
      req.sysctls.push_back(std::move(*sc));
    }
    auto set = create_userns_set(req);
    return set ? 0 : fail(set.error(), err);
  });
}

int podns_run_in_ns(const char* path, unsigned long type, podns_ns_callback fn, void* arg, int* result,
                    podns_error** err) {
  return guarded(err, [&] {
    if (!require(path, "path", err)) return -1;
    if (!fn) return fail(Errc::invalid_argument, "run in namespace: fn is NULL", err);
    std::optional<NamespaceType> expected;
    if (type != 0) {
      auto t = capi::one_type(type);
      if (!t) return fail(t.error(), err);
      expected = *t;
    }
    auto r = run_in_namespace_path(path, expected, [&] { return fn(arg); });
    if (!r) return fail(Error(r.error()).context(fmt::format("run in namespace {}", path)), err);
    if (result) *result = *r;
    return 0;
  });
}

char* podns_ns_oci_spec(podns_ctx* ctx, const char* name, podns_error** err) {
  return guarded(err, [&]() -> char* {
    if (!require(ctx, "ctx", err) || !require(name, "name", err)) return nullptr;
    auto spec = oci::spec_for_pins({.paths = ctx->env.paths, .name = name});
    if (!spec) return fail(spec.error(), err), nullptr;
    return capi::dup_string(json_dump(*spec));
  });
}

}  // extern "C"
