// The C API's native networks and interface statistics.
#include <cstdlib>
#include <cstring>

#include "capi/capi.hpp"
#include "podns/net/stats.hpp"
#include "podns/network/network.hpp"
#include "podns/pod/networks.hpp"

using namespace podns;
using capi::fail;
using capi::guarded;
using capi::require;

struct podns_network_options {
  network::NetworkOptions options;
};

extern "C" {

podns_network_options* podns_network_options_new(void) { return new (std::nothrow) podns_network_options{}; }

void podns_network_options_free(podns_network_options* opts) { delete opts; }

int podns_network_options_add_subnet(podns_network_options* opts, const char* subnet, const char* gateway,
                                     const char* ip_range, podns_error** err) {
  return guarded(err, [&] {
    if (!require(opts, "opts", err) || !require(subnet, "subnet", err)) return -1;
    opts->options.subnets.push_back({subnet, gateway ? gateway : "", ip_range ? ip_range : ""});
    return 0;
  });
}

void podns_network_options_set_ipv6(podns_network_options* opts, int ipv6) {
  if (opts) opts->options.ipv6 = ipv6 != 0;
}

void podns_network_options_set_internal(podns_network_options* opts, int internal) {
  if (opts) opts->options.internal = internal != 0;
}

void podns_network_options_set_mtu(podns_network_options* opts, uint32_t mtu) {
  if (opts) opts->options.mtu = mtu;
}

int podns_network_options_set_bridge(podns_network_options* opts, const char* bridge, podns_error** err) {
  return guarded(err, [&] {
    if (!require(opts, "opts", err) || !require(bridge, "bridge", err)) return -1;
    opts->options.bridge = bridge;
    return 0;
  });
}

int podns_network_create(podns_ctx* ctx, const char* name, const podns_network_options* opts, podns_error** err) {
  return guarded(err, [&] {
    if (!require(ctx, "ctx", err) || !require(name, "name", err)) return -1;
    network::NetworkOptions o = opts ? opts->options : network::NetworkOptions{};
    o.name = name;
    auto made = pod::network_create(ctx->env, o);
    return made ? 0 : fail(made.error(), err);
  });
}

int podns_network_remove(podns_ctx* ctx, const char* name, int force, podns_error** err) {
  return guarded(err, [&] {
    if (!require(ctx, "ctx", err) || !require(name, "name", err)) return -1;
    auto s = pod::network_remove(ctx->env, name, force != 0);
    return s ? 0 : fail(s.error(), err);
  });
}

int podns_netns_stats(const char* netns_path, podns_iface_stats** stats, size_t* n_stats, podns_error** err) {
  return guarded(err, [&] {
    if (stats) *stats = nullptr;
    if (n_stats) *n_stats = 0;
    if (!require(netns_path, "netns_path", err)) return -1;
    if (!stats || !n_stats) return fail(Errc::invalid_argument, "netns stats: stats or n_stats is NULL", err);
    auto all = net::collect_stats(netns_path);
    if (!all) return fail(all.error(), err);
    if (all->empty()) return 0;
    auto* out = static_cast<podns_iface_stats*>(std::calloc(all->size(), sizeof(podns_iface_stats)));
    if (!out) return fail(Error(std::make_error_code(std::errc::not_enough_memory), "netns stats"), err);
    for (size_t i = 0; i < all->size(); ++i) {
      const auto& in = (*all)[i];
      auto& o = out[i];
      // ifnames are at most IFNAMSIZ - 1 bytes: the kernel's own limit.
      std::strncpy(o.ifname, in.ifname.c_str(), sizeof o.ifname - 1);
      o.ifindex = in.index;
      o.rx_bytes = in.stats.rx_bytes;
      o.rx_packets = in.stats.rx_packets;
      o.rx_errors = in.stats.rx_errors;
      o.rx_dropped = in.stats.rx_dropped;
      o.tx_bytes = in.stats.tx_bytes;
      o.tx_packets = in.stats.tx_packets;
      o.tx_errors = in.stats.tx_errors;
      o.tx_dropped = in.stats.tx_dropped;
    }
    *stats = out;
    *n_stats = all->size();
    return 0;
  });
}

}  // extern "C"
