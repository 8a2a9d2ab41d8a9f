// The C API's processes: a spawn attribute built by setters, and a handle owning the process.
#include <fmt/format.h>

#include "capi/capi.hpp"
#include "podns/process.hpp"
#include "podns/spawn.hpp"

using namespace podns;
using capi::fail;
using capi::guarded;
using capi::require;

struct podns_spawn_attr {
  SpawnRequest request;
};

struct podns_process {
  ChildProcess child;
};

namespace {

std::vector<std::string> strings_of(const char* const* list) {
  std::vector<std::string> out;
  for (auto p = list; p && *p; ++p) out.emplace_back(*p);
  return out;
}

}  // namespace

extern "C" {

podns_spawn_attr* podns_spawn_attr_new(void) { return new (std::nothrow) podns_spawn_attr{}; }

void podns_spawn_attr_free(podns_spawn_attr* attr) { delete attr; }

int podns_spawn_attr_set_argv(podns_spawn_attr* attr, const char* const* argv, podns_error** err) {
  return guarded(err, [&] {
    if (!require(attr, "attr", err) || !require(argv ? argv[0] : nullptr, "argv[0]", err)) return -1;
    attr->request.argv = strings_of(argv);
    return 0;
  });
}

int podns_spawn_attr_set_env(podns_spawn_attr* attr, const char* const* envp, podns_error** err) {
  return guarded(err, [&] {
    if (!require(attr, "attr", err)) return -1;
    attr->request.env = strings_of(envp);
    return 0;
  });
}

int podns_spawn_attr_add_namespace(podns_spawn_attr* attr, unsigned long type, const char* path, podns_error** err) {
  return guarded(err, [&] {
    if (!require(attr, "attr", err)) return -1;
    auto t = capi::one_type(type);
    if (!t) return fail(t.error(), err);
    for (const auto& ns : attr->request.namespaces)
      if (ns.type == *t)
        return fail(Errc::invalid_argument, fmt::format("spawn: a second {} namespace", to_string(*t)), err);
    attr->request.namespaces.push_back({*t, path ? path : ""});
    return 0;
  });
}

int podns_spawn_attr_set_idmappings(podns_spawn_attr* attr, const podns_idmappings* maps, podns_error** err) {
  return guarded(err, [&] {
    if (!require(attr, "attr", err)) return -1;
    if (!maps) return fail(Errc::invalid_argument, "spawn: maps is NULL", err);
    attr->request.idmaps = capi::to_idmappings(*maps);
    return 0;
  });
}

int podns_spawn_attr_set_cwd(podns_spawn_attr* attr, const char* cwd, podns_error** err) {
  return guarded(err, [&] {
    if (!require(attr, "attr", err) || !require(cwd, "cwd", err)) return -1;
    attr->request.cwd = cwd;
    return 0;
  });
}

int podns_spawn_attr_add_fd(podns_spawn_attr* attr, int parent_fd, int child_fd, podns_error** err) {
  return guarded(err, [&] {
    if (!require(attr, "attr", err)) return -1;
    if (parent_fd < 0 || child_fd < 0)
      return fail(Errc::invalid_argument, fmt::format("spawn: fd {} -> {}: descriptors are >= 0", parent_fd, child_fd), err);
    attr->request.fds.push_back({parent_fd, child_fd});
    return 0;
  });
}

podns_process* podns_spawn(const podns_spawn_attr* attr, podns_error** err) {
  return guarded(err, [&]() -> podns_process* {
    if (!require(attr, "attr", err)) return nullptr;
    if (attr->request.argv.empty()) return fail(Errc::invalid_argument, "spawn: no argv set", err), nullptr;
    auto child = spawn(attr->request);
    if (!child) return fail(child.error(), err), nullptr;
    return new podns_process{std::move(*child)};
  });
}

pid_t podns_process_pid(const podns_process* proc) { return proc ? proc->child.pid() : -1; }

int podns_process_pidfd(const podns_process* proc) { return proc ? proc->child.pidfd().get() : -1; }

int podns_process_wait(podns_process* proc, int* exit_code, podns_error** err) {
  return guarded(err, [&] {
    if (!require(proc, "proc", err)) return -1;
    auto code = proc->child.wait();
    if (!code) return fail(code.error(), err);
    if (exit_code) *exit_code = *code;
    return 0;
  });
}

int podns_process_signal(podns_process* proc, int sig, podns_error** err) {
  return guarded(err, [&] {
    if (!require(proc, "proc", err)) return -1;
    auto s = proc->child.signal(sig);
    return s ? 0 : fail(s.error(), err);
  });
}

pid_t podns_process_detach(podns_process* proc) { return proc ? proc->child.detach() : -1; }

void podns_process_free(podns_process* proc) { delete proc; }

}  // extern "C"
