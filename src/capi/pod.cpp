// The C API's pods: options built by setters, results as plain structs the caller frees.
#include <cstdlib>

#include <fmt/format.h>

#include "capi/capi.hpp"
#include "podns/json_dump.hpp"
#include "podns/pod/spec.hpp"

using namespace podns;
using capi::fail;
using capi::guarded;
using capi::require;

struct podns_pod_options {
  pod::CreateOptions options;
};

namespace {

// Every string set in the struct is malloc'ed, every array calloc'ed: podns_pod_info_free walks
// them, and a C caller may keep a single string beyond the struct by taking it and NULLing it.
char* must_dup(std::string_view s) {
  char* p = capi::dup_string(s);
  if (!p) throw std::bad_alloc();
  return p;
}

template <class T>
T* must_calloc(size_t n) {
  if (n == 0) return nullptr;
  auto* p = static_cast<T*>(std::calloc(n, sizeof(T)));
  if (!p) throw std::bad_alloc();
  return p;
}

void free_fields(podns_pod_info& info) {
  for (size_t i = 0; i < info.n_networks; ++i) {
    auto& n = info.networks[i];
    for (size_t j = 0; j < n.n_addresses; ++j) {
      std::free(n.addresses[j].cidr);
      std::free(n.addresses[j].gateway);
    }
    std::free(n.addresses);
    std::free(n.network);
    std::free(n.ifname);
    std::free(n.mac);
  }
  std::free(info.networks);
  std::free(info.name);
  std::free(info.phase);
  std::free(info.netns_path);
  std::free(info.userns_path);
  info = {};
}

// Fills `out` (zeroed) from `in`; on a failed allocation frees what it filled and throws.
void fill(podns_pod_info& out, const pod::PodInfo& in) {
  try {
    out.name = must_dup(in.name);
    out.phase = must_dup(std::string(state::to_string(in.phase)));
    out.netns_path = must_dup(in.netns_path);
    out.userns_path = must_dup(in.userns_path);
    out.created_at = in.created_at;
    out.networks = must_calloc<podns_pod_network>(in.networks.size());
    for (const auto& n : in.networks) {
      auto& c = out.networks[out.n_networks++];
      c.network = must_dup(n.network);
      c.ifname = must_dup(n.ifname);
      c.mac = must_dup(n.mac);
      c.addresses = must_calloc<podns_address>(n.addresses.size());
      for (const auto& a : n.addresses) {
        auto& ca = c.addresses[c.n_addresses++];
        ca.cidr = must_dup(a.address);
        ca.gateway = must_dup(a.gateway);
        ca.ipv6 = a.ipv6 ? 1 : 0;
      }
    }
  } catch (...) {
    free_fields(out);
    throw;
  }
}

podns_pod_info* new_info(const pod::PodInfo& in) {
  auto* out = must_calloc<podns_pod_info>(1);
  try {
    fill(*out, in);
  } catch (...) {
    std::free(out);
    throw;
  }
  return out;
}

// A string option: required, stored as is (pod::create validates it with everything else).
int set_string(podns_pod_options* opts, const char* value, std::string pod::CreateOptions::*field,
               std::string_view what, podns_error** err) {
  if (!require(opts, "opts", err) || !require(value, what, err)) return -1;
  opts->options.*field = value;
  return 0;
}

}  // namespace

extern "C" {

podns_pod_options* podns_pod_options_new(void) { return new (std::nothrow) podns_pod_options{}; }

void podns_pod_options_free(podns_pod_options* opts) { delete opts; }

int podns_pod_options_add_network(podns_pod_options* opts, const char* network, podns_error** err) {
  return guarded(err, [&] {
    if (!require(opts, "opts", err) || !require(network, "network", err)) return -1;
    opts->options.networks.emplace_back(network);
    return 0;
  });
}

int podns_pod_options_add_port(podns_pod_options* opts, const char* spec, podns_error** err) {
  return guarded(err, [&] {
    if (!require(opts, "opts", err) || !require(spec, "port", err)) return -1;
    auto p = pod::parse_port_spec(spec);
    if (!p) return fail(p.error(), err);
    opts->options.ports.push_back(*p);
    return 0;
  });
}

int podns_pod_options_set_ip(podns_pod_options* opts, const char* ip, podns_error** err) {
  return guarded(err, [&] { return set_string(opts, ip, &pod::CreateOptions::ip, "ip", err); });
}

int podns_pod_options_set_mac(podns_pod_options* opts, const char* mac, podns_error** err) {
  return guarded(err, [&] { return set_string(opts, mac, &pod::CreateOptions::mac, "mac", err); });
}

int podns_pod_options_set_userns(podns_pod_options* opts, const char* userns, podns_error** err) {
  return guarded(err, [&] { return set_string(opts, userns, &pod::CreateOptions::userns, "userns", err); });
}

int podns_pod_options_set_rootless_net(podns_pod_options* opts, const char* helper, podns_error** err) {
  return guarded(err, [&] { return set_string(opts, helper, &pod::CreateOptions::rootless_net, "rootless net", err); });
}

int podns_pod_options_add_sysctl(podns_pod_options* opts, const char* sysctl, podns_error** err) {
  return guarded(err, [&] {
    if (!require(opts, "opts", err) || !require(sysctl, "sysctl", err)) return -1;
    auto kv = pod::parse_sysctl(sysctl);
    if (!kv) return fail(kv.error(), err);
    opts->options.sysctls.push_back(std::move(*kv));
    return 0;
  });
}

int podns_pod_create(podns_ctx* ctx, const char* name, const podns_pod_options* opts, podns_pod_info** info,
                     podns_error** err) {
  return guarded(err, [&] {
    if (info) *info = nullptr;
    if (!require(ctx, "ctx", err) || !require(name, "name", err)) return -1;
    pod::CreateOptions o = opts ? opts->options : pod::CreateOptions{};
    o.name = name;
    auto made = pod::create(ctx->env, std::move(o));
    if (!made) return fail(made.error(), err);
    if (info) *info = new_info(*made);
    return 0;
  });
}

int podns_pod_inspect(podns_ctx* ctx, const char* name, podns_pod_info** info, podns_error** err) {
  return guarded(err, [&] {
    if (info) *info = nullptr;
    if (!require(ctx, "ctx", err) || !require(name, "name", err)) return -1;
    if (!info) return fail(Errc::invalid_argument, "pod inspect: info is NULL", err);
    auto found = pod::inspect(ctx->env, name);
    if (!found) return fail(found.error(), err);
    *info = new_info(*found);
    return 0;
  });
}

int podns_pod_list(podns_ctx* ctx, podns_pod_info** pods, size_t* n_pods, podns_error** err) {
  return guarded(err, [&] {
    if (pods) *pods = nullptr;
    if (n_pods) *n_pods = 0;
    if (!require(ctx, "ctx", err)) return -1;
    if (!pods || !n_pods) return fail(Errc::invalid_argument, "pod list: pods or n_pods is NULL", err);
    auto all = pod::list(ctx->env);
    if (!all) return fail(all.error(), err);
    auto* out = must_calloc<podns_pod_info>(all->size());
    size_t filled = 0;
    try {
      for (const auto& p : *all) fill(out[filled++], p);
    } catch (...) {
      podns_pod_info_list_free(out, filled);
      throw;
    }
    *pods = out;
    *n_pods = filled;
    return 0;
  });
}

int podns_pod_remove(podns_ctx* ctx, const char* name, int force, podns_error** err) {
  return guarded(err, [&] {
    if (!require(ctx, "ctx", err) || !require(name, "name", err)) return -1;
    auto s = pod::remove(ctx->env, name, {.force = force != 0});
    return s ? 0 : fail(s.error(), err);
  });
}

void podns_pod_info_free(podns_pod_info* info) {
  if (!info) return;
  free_fields(*info);
  std::free(info);
}

void podns_pod_info_list_free(podns_pod_info* pods, size_t n_pods) {
  if (!pods) return;
  for (size_t i = 0; i < n_pods; ++i) free_fields(pods[i]);
  std::free(pods);
}

int podns_gc(podns_ctx* ctx, size_t* cleaned, podns_error** err) {
  return guarded(err, [&] {
    if (cleaned) *cleaned = 0;
    if (!require(ctx, "ctx", err)) return -1;
    auto report = pod::gc(ctx->env);
    if (!report) return fail(report.error(), err);
    if (cleaned) *cleaned = report->cleaned.size();
    // gc goes on past what it cannot clean; the caller hears of the first such thing.
    if (!report->errors.empty())
      return fail(Error(report->errors.front()).context(fmt::format("gc ({} problems)", report->errors.size())), err);
    return 0;
  });
}

char* podns_pod_oci_spec(podns_ctx* ctx, const char* name, podns_error** err) {
  return guarded(err, [&]() -> char* {
    if (!require(ctx, "ctx", err) || !require(name, "name", err)) return nullptr;
    auto spec = pod::oci_spec(ctx->env, name);
    if (!spec) return fail(spec.error(), err), nullptr;
    return must_dup(json_dump(*spec));
  });
}

}  // extern "C"
