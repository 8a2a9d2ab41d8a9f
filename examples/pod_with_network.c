/* libpodns from C: a pod with a network, its address, and gone again.
 *
 *   pod_with_network NAME [NETWORK]
 *
 * Needs root (or a rootless session) like `podns pod create`. Where pins and state go follows
 * PODNS_RUN_DIR and PODNS_STATE_DIR, as for the CLI. Prints "NAME NETNS_PATH IFNAME ADDRESS" for
 * each address of the pod, then removes the pod; exits 1 with podns's message on any failure.
 */
#include <stdio.h>
#include <stdlib.h>

#include <podns/podns.h>

static int report(const char *doing, podns_error *err) {
  fprintf(stderr, "pod_with_network: %s: %s (code %d, errno %d)\n", doing, podns_error_message(err),
          podns_error_code(err), podns_error_errno(err));
  podns_error_free(err);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s NAME [NETWORK]\n", argv[0]);
    return 2;
  }
  const char *name = argv[1];
  podns_error *err = NULL;

  podns_ctx *ctx = podns_ctx_new(NULL, NULL, &err);
  if (!ctx) return report("context", err);

  podns_pod_options *opts = podns_pod_options_new();
  if (!opts) {
    podns_ctx_free(ctx);
    fprintf(stderr, "pod_with_network: out of memory\n");
    return 1;
  }
  if (argc == 3 && podns_pod_options_add_network(opts, argv[2], &err) < 0) {
    podns_pod_options_free(opts);
    podns_ctx_free(ctx);
    return report("options", err);
  }

  podns_pod_info *info = NULL;
  int rc = podns_pod_create(ctx, name, opts, &info, &err);
  podns_pod_options_free(opts);
  if (rc < 0) {
    podns_ctx_free(ctx);
    return report("pod create", err);
  }
  for (size_t i = 0; i < info->n_networks; ++i) {
    const podns_pod_network *net = &info->networks[i];
    for (size_t j = 0; j < net->n_addresses; ++j)
      printf("%s %s %s %s\n", info->name, info->netns_path, net->ifname, net->addresses[j].cidr);
  }
  podns_pod_info_free(info);

  if (podns_pod_remove(ctx, name, 0, &err) < 0) {
    podns_ctx_free(ctx);
    return report("pod rm", err);
  }
  podns_ctx_free(ctx);
  return 0;
}
