/* libpodns's C API: namespaces, user-namespace-owned sets, pods with networks, for runtimes
 * written in C (crun, conmon) or any language with a C FFI.
 *
 * Conventions, the same for every function:
 *  - Functions that can fail return 0 (or a value >= 0: an fd, a pid) on success and -1 on
 *    failure; those returning a pointer return NULL on failure. On failure errno is set (the
 *    system error, or the closest errno for podns's own conditions: EINVAL for a bad name or
 *    argument, ENOENT for something not found, EEXIST, EBUSY, ETIMEDOUT, ...), and when `err` is
 *    not NULL, *err receives an error object: a code (enum podns_errc), the errno and one line of
 *    text ("pod create web: attach network podns: ..."). Free it with podns_error_free().
 *  - Strings and arrays podns returns belong to the caller: podns_free() them, or the matching
 *    *_free() for structures.
 *  - Inputs with many optional fields are built through opaque handles (podns_pod_options,
 *    podns_spawn_attr, ...); results are plain structs. No C++ type crosses this header, and no
 *    C++ exception leaves it.
 *  - A podns_ctx is read-only once made: threads may share one.
 *  - The ABI is versioned by the library's soname (libpodns.so.PODNS_VERSION_MAJOR): structures
 *    returned by podns only grow at their end, and a caller never allocates one.
 *
 * Namespace types are given as the kernel's CLONE_NEW* flags (PODNS_NS_* has the same values), one
 * flag where one type is meant, several or-ed together for a set.
 */
#ifndef PODNS_PODNS_H
#define PODNS_PODNS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PODNS_VERSION_MAJOR 0
#define PODNS_VERSION_MINOR 1
#define PODNS_VERSION_PATCH 0
/* For compile-time checks: PODNS_VERSION >= PODNS_MAKE_VERSION(0, 1, 0). */
#define PODNS_MAKE_VERSION(major, minor, patch) ((major) * 10000 + (minor) * 100 + (patch))
#define PODNS_VERSION PODNS_MAKE_VERSION(PODNS_VERSION_MAJOR, PODNS_VERSION_MINOR, PODNS_VERSION_PATCH)

/* The version of the library loaded at run time, "0.1.0". */
const char *podns_version(void);

/* ---- Errors ----------------------------------------------------------------------------------- */

enum podns_errc {
  PODNS_ERR_SYSTEM = 0,            /* a system call failed: podns_error_errno() says why */
  PODNS_ERR_INVALID_NAME = 1,      /* a pod, pin or network name, or an ifname, that breaks the rules */
  PODNS_ERR_INVALID_ARGUMENT = 2,  /* malformed input: maps, ports, JSON, options */
  PODNS_ERR_NOT_A_NAMESPACE = 3,   /* the path exists but is no namespace file */
  PODNS_ERR_WRONG_NAMESPACE_TYPE = 4,
  PODNS_ERR_ALREADY_EXISTS = 5,
  PODNS_ERR_NOT_FOUND = 6,
  PODNS_ERR_PROCESS_EXITED = 7,    /* the process a pid named is gone */
  PODNS_ERR_PLUGIN_FAILED = 8,     /* a CNI plugin or helper failed */
  PODNS_ERR_TIMED_OUT = 9,
  PODNS_ERR_CORRUPT = 10,          /* unreadable state, cache or config */
  PODNS_ERR_UNSUPPORTED = 11,      /* the kernel or a peer tool lacks a feature */
  PODNS_ERR_BUSY = 12,             /* locked or in use by another operation */
  PODNS_ERR_OUTSIDE_BASE_DIR = 13, /* a path that leads outside the directory it must stay in */
  PODNS_ERR_WRONG_THREAD_MODEL = 14,
  PODNS_ERR_THREAD_STRANDED = 15,  /* the calling thread could not return to its namespaces */
};

typedef struct podns_error podns_error;

int podns_error_code(const podns_error *err);    /* enum podns_errc */
int podns_error_errno(const podns_error *err);   /* the errno set on failure */
/* "<what podns was doing>: <why>"; valid until podns_error_free(). */
const char *podns_error_message(const podns_error *err);
void podns_error_free(podns_error *err);

/* Frees a string or array podns returned. NULL is fine. */
void podns_free(void *p);

/* ---- Context ---------------------------------------------------------------------------------- */

/* Where pins, locks and state live. NULL dirs: the defaults for the effective user (root: pins in
 * /run/netns and /run/podns/ns, state in /var/lib/podns), moved by PODNS_RUN_DIR and
 * PODNS_STATE_DIR; given dirs hold everything (as the CLI's --run-dir and --state-dir). The
 * environment's CNI_PATH, NETCONFPATH and PODNS_NFT_TABLE are read here, once. */
typedef struct podns_ctx podns_ctx;

podns_ctx *podns_ctx_new(const char *run_dir, const char *state_dir, podns_error **err);
void podns_ctx_free(podns_ctx *ctx);

/* Problems that do not fail an operation (a DEL that failed while a failed create was rolled
 * back): `fn` gets one line each, from the thread doing the operation. Set it before sharing ctx. */
typedef void (*podns_warning_fn)(const char *message, void *arg);
void podns_ctx_set_warning_handler(podns_ctx *ctx, podns_warning_fn fn, void *arg);

/* ---- Namespaces and pins ---------------------------------------------------------------------- */

#define PODNS_NS_TIME 0x00000080UL   /* CLONE_NEWTIME */
#define PODNS_NS_MNT 0x00020000UL    /* CLONE_NEWNS */
#define PODNS_NS_CGROUP 0x02000000UL /* CLONE_NEWCGROUP */
#define PODNS_NS_UTS 0x04000000UL    /* CLONE_NEWUTS */
#define PODNS_NS_IPC 0x08000000UL    /* CLONE_NEWIPC */
#define PODNS_NS_USER 0x10000000UL   /* CLONE_NEWUSER */
#define PODNS_NS_PID 0x20000000UL    /* CLONE_NEWPID */
#define PODNS_NS_NET 0x40000000UL    /* CLONE_NEWNET */

/* New namespaces of `types` (not PODNS_NS_USER: see podns_userns_set_create), pinned as `name`
 * without moving the caller, as `ip netns add` and CRI-O's pinns do. On failure nothing stays. */
int podns_ns_create(podns_ctx *ctx, const char *name, unsigned long types, podns_error **err);
/* Pin the namespaces of `types` that process `pid` is in (`ip netns attach NAME PID`). */
int podns_ns_attach(podns_ctx *ctx, const char *name, pid_t pid, unsigned long types, podns_error **err);
/* Remove the pins `name` of `types` (0: every type). Idempotent. */
int podns_ns_remove(podns_ctx *ctx, const char *name, unsigned long types, podns_error **err);
/* The path of the pin `name` of one `type` (whether it exists or not), to hand to a runtime. */
char *podns_ns_path(podns_ctx *ctx, const char *name, unsigned long type, podns_error **err);
/* An O_CLOEXEC fd on the namespace pinned as `name` of one `type`: for setns(2). */
int podns_ns_open(podns_ctx *ctx, const char *name, unsigned long type, podns_error **err);

/* ---- User-namespace-owned sets ---------------------------------------------------------------- */

typedef struct podns_idmap {
  uint32_t container_id; /* first id inside the user namespace */
  uint32_t host_id;      /* first id outside */
  uint32_t size;
} podns_idmap;

typedef struct podns_idmappings {
  const podns_idmap *uid;
  size_t n_uid;
  const podns_idmap *gid;
  size_t n_gid;
  int deny_setgroups; /* nonzero: /proc/PID/setgroups "deny" */
} podns_idmappings;

/* A user namespace with `maps`, and the other namespaces of `types` made inside it (so owned by
 * it: a runtime can join both), all pinned as `name`. `types` includes PODNS_NS_USER. `sysctls`:
 * NULL, or a NULL-terminated list of "key=value" written inside the new namespaces. */
int podns_userns_set_create(podns_ctx *ctx, const char *name, unsigned long types, const podns_idmappings *maps,
                            const char *const *sysctls, podns_error **err);

/* ---- Running code in a namespace -------------------------------------------------------------- */

typedef int (*podns_ns_callback)(void *arg);

/* Enter the namespace at `path` (of `type`, or 0 for any) on the calling thread, call fn(arg),
 * come back; *result (when not NULL) gets fn's return value. As CNI's ns.Do: net, ipc, uts,
 * cgroup and pid on the calling thread, mnt on a short-lived thread, user and time refused
 * (PODNS_ERR_WRONG_THREAD_MODEL: use podns_spawn). A thread that could not come back is marked
 * stranded and gets PODNS_ERR_THREAD_STRANDED from then on: retire it. */
int podns_run_in_ns(const char *path, unsigned long type, podns_ns_callback fn, void *arg, int *result,
                    podns_error **err);

/* ---- Processes -------------------------------------------------------------------------------- */

/* What to start and where. Made empty, filled by the setters, used by podns_spawn any number of
 * times. */
typedef struct podns_spawn_attr podns_spawn_attr;

podns_spawn_attr *podns_spawn_attr_new(void);
void podns_spawn_attr_free(podns_spawn_attr *attr);
/* argv: NULL-terminated; argv[0] without '/' is looked up in PATH. Required. */
int podns_spawn_attr_set_argv(podns_spawn_attr *attr, const char *const *argv, podns_error **err);
/* envp: NULL-terminated; not set: the caller's environment. */
int podns_spawn_attr_set_env(podns_spawn_attr *attr, const char *const *envp, podns_error **err);
/* Join the namespace of `type` at `path`, or create a new one when `path` is NULL. */
int podns_spawn_attr_add_namespace(podns_spawn_attr *attr, unsigned long type, const char *path, podns_error **err);
/* The id maps of a user namespace created for the process. */
int podns_spawn_attr_set_idmappings(podns_spawn_attr *attr, const podns_idmappings *maps, podns_error **err);
int podns_spawn_attr_set_cwd(podns_spawn_attr *attr, const char *cwd, podns_error **err);
/* Descriptor `parent_fd` becomes `child_fd` in the process; others than 0, 1, 2 are closed. */
int podns_spawn_attr_add_fd(podns_spawn_attr *attr, int parent_fd, int child_fd, podns_error **err);

/* A started process: owned by the handle (a pidfd), killed and reaped by podns_process_free
 * unless waited for or detached. */
typedef struct podns_process podns_process;

podns_process *podns_spawn(const podns_spawn_attr *attr, podns_error **err);
pid_t podns_process_pid(const podns_process *proc);
int podns_process_pidfd(const podns_process *proc);
/* Block until it exits; *exit_code gets its code, or 128+N when signal N killed it. */
int podns_process_wait(podns_process *proc, int *exit_code, podns_error **err);
int podns_process_signal(podns_process *proc, int sig, podns_error **err);
/* Hand the process over: the handle forgets it and the caller reaps it. Returns its pid. */
pid_t podns_process_detach(podns_process *proc);
void podns_process_free(podns_process *proc);

/* ---- Networks --------------------------------------------------------------------------------- */

typedef struct podns_network_options podns_network_options;

podns_network_options *podns_network_options_new(void);
void podns_network_options_free(podns_network_options *opts);
/* A subnet (CIDR); gateway and ip_range (a CIDR inside it to allocate from) may be NULL. */
int podns_network_options_add_subnet(podns_network_options *opts, const char *subnet, const char *gateway,
                                     const char *ip_range, podns_error **err);
void podns_network_options_set_ipv6(podns_network_options *opts, int ipv6);
void podns_network_options_set_internal(podns_network_options *opts, int internal);
void podns_network_options_set_mtu(podns_network_options *opts, uint32_t mtu);
int podns_network_options_set_bridge(podns_network_options *opts, const char *bridge, podns_error **err);

/* A native network (bridge, IPAM, NAT and port forwarding done by podns). opts NULL: the first
 * free 10.90.N.0/24 upwards on the first free podnsN bridge. */
int podns_network_create(podns_ctx *ctx, const char *name, const podns_network_options *opts, podns_error **err);
/* Refused while pods use it, unless `force` (then they are removed first). */
int podns_network_remove(podns_ctx *ctx, const char *name, int force, podns_error **err);

/* ---- Pods ------------------------------------------------------------------------------------- */

typedef struct podns_pod_options podns_pod_options;

podns_pod_options *podns_pod_options_new(void);
void podns_pod_options_free(podns_pod_options *opts);
/* Networks in attachment order (eth0, eth1, ...): a native network or a CNI conflist by name.
 * None: the default network. */
int podns_pod_options_add_network(podns_pod_options *opts, const char *network, podns_error **err);
/* A published port in podman's form: "[HOSTIP:]HOSTPORT:CTRPORT[/tcp|udp|sctp]", ranges too. */
int podns_pod_options_add_port(podns_pod_options *opts, const char *spec, podns_error **err);
/* A static address and MAC on the first network. */
int podns_pod_options_set_ip(podns_pod_options *opts, const char *ip, podns_error **err);
int podns_pod_options_set_mac(podns_pod_options *opts, const char *mac, podns_error **err);
/* "auto", or "CONTAINER:HOST:SIZE[,...]": the pod gets a user namespace owning its others. */
int podns_pod_options_set_userns(podns_pod_options *opts, const char *userns, podns_error **err);
/* "key=value", a net.* sysctl set inside the pod's netns. */
int podns_pod_options_add_sysctl(podns_pod_options *opts, const char *sysctl, podns_error **err);
/* "slirp4netns" or "pasta": rootless networking instead of a network. */
int podns_pod_options_set_rootless_net(podns_pod_options *opts, const char *helper, podns_error **err);

typedef struct podns_address {
  char *cidr;    /* "10.89.0.5/24" */
  char *gateway; /* may be "" */
  int ipv6;
} podns_address;

typedef struct podns_pod_network {
  char *network;
  char *ifname; /* inside the pod: "eth0" */
  char *mac;
  podns_address *addresses;
  size_t n_addresses;
} podns_pod_network;

typedef struct podns_pod_info {
  char *name;
  char *phase;       /* "ready"; "creating" or "removing" while (or if a crash left it) in progress */
  char *netns_path;  /* the sandbox key, for the runtime spec */
  char *userns_path; /* "" without a user namespace */
  podns_pod_network *networks;
  size_t n_networks;
  int64_t created_at; /* seconds since the epoch */
} podns_pod_info;

/* Pin the pod's namespaces and attach its networks; on any failure everything done is undone.
 * opts NULL: the default network. *info (when info is not NULL) gets what was made. */
int podns_pod_create(podns_ctx *ctx, const char *name, const podns_pod_options *opts, podns_pod_info **info,
                     podns_error **err);
int podns_pod_inspect(podns_ctx *ctx, const char *name, podns_pod_info **info, podns_error **err);
/* Every pod: *pods gets an array of *n_pods; free it with podns_pod_info_list_free. */
int podns_pod_list(podns_ctx *ctx, podns_pod_info **pods, size_t *n_pods, podns_error **err);
/* Detach the networks, unpin, drop the state. `force`: drop it even when a detach failed (a CNI
 * DEL that failed is kept and retried by podns_gc). */
int podns_pod_remove(podns_ctx *ctx, const char *name, int force, podns_error **err);
void podns_pod_info_free(podns_pod_info *info);
void podns_pod_info_list_free(podns_pod_info *pods, size_t n_pods);

/* Roll back crashed operations, release what pods whose netns is gone held, retry pending CNI
 * DELs, remove orphaned pins, cache entries and helpers. *cleaned (when not NULL): how many. */
int podns_gc(podns_ctx *ctx, size_t *cleaned, podns_error **err);

/* ---- OCI runtime spec ------------------------------------------------------------------------- */

/* JSON for a container to join the pod: {"linux": {"namespaces": [{"type": "network", "path":
 * ...}, ...], "uidMappings": ..., "gidMappings": ...}}. podns_free() it. */
char *podns_pod_oci_spec(podns_ctx *ctx, const char *name, podns_error **err);
/* The same for the pins named `name` (a set made by podns_ns_create or podns_userns_set_create). */
char *podns_ns_oci_spec(podns_ctx *ctx, const char *name, podns_error **err);

/* ---- Interface statistics --------------------------------------------------------------------- */

typedef struct podns_iface_stats {
  char ifname[16]; /* IFNAMSIZ */
  int ifindex;
  uint64_t rx_bytes;
  uint64_t rx_packets;
  uint64_t rx_errors;
  uint64_t rx_dropped;
  uint64_t tx_bytes;
  uint64_t tx_packets;
  uint64_t tx_errors;
  uint64_t tx_dropped;
} podns_iface_stats;

/* The counters of every interface but loopback in the netns at `netns_path` (a pod's netns_path),
 * in ifindex order: *stats gets an array of *n_stats, podns_free() it. */
int podns_netns_stats(const char *netns_path, podns_iface_stats **stats, size_t *n_stats, podns_error **err);

#ifdef __cplusplus
}
#endif

#endif /* PODNS_PODNS_H */
