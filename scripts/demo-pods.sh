#!/usr/bin/env bash
# The pod part of `make demo` (scripts/demo.sh sources this file and calls demo_pods PODNS):
# two pods on the default network, one pings the other, a published port fetched from the host,
# inspect and stats, both removed, and the host left as it was (the state, pins, bridge and the
# CNI chains the plugins create once are all private to this run and removed at the end).
demo_pods() {
  local podns=${1:?usage: demo_pods PATH_TO_PODNS}
  if [ "$(id -u)" -ne 0 ]; then
    echo "demo_pods: needs root (CNI bridge networking); skipped"
    return 0
  fi
  local dir; dir=$(mktemp -d /tmp/podns-demo-XXXXXX)
  local nft_before; nft_before=$(nft list ruleset 2>/dev/null | grep -c 'chain CNI-' || true)
  local had_nat=0 had_filter=0 had_nat6=0
  nft list table ip nat >/dev/null 2>&1 && had_nat=1
  nft list table ip6 nat >/dev/null 2>&1 && had_nat6=1
  nft list table ip filter >/dev/null 2>&1 && had_filter=1
  export PODNS_RUN_DIR=$dir/run PODNS_STATE_DIR=$dir/state
  export PODNS_DEFAULT_BRIDGE=podnsdemo0 PODNS_DEFAULT_SUBNET=10.89.77.0/24
  local port=18089

  demo_pods_cleanup() {
    "$podns" pod rm --force web client >/dev/null 2>&1 || true
    "$podns" gc >/dev/null 2>&1 || true
    wait "${server_pid:-}" 2>/dev/null || true
    ip link del podnsdemo0 2>/dev/null || true
    # The plugins' once-per-host chains, only when this demo created them (no other CNI user).
    if [ "$nft_before" = 0 ]; then
      for t in filter nat; do
        for c in CNI-FORWARD CNI-ADMIN CNI-HOSTPORT-DNAT CNI-HOSTPORT-SETMARK CNI-HOSTPORT-MASQ; do
          for base in FORWARD PREROUTING OUTPUT POSTROUTING; do
            while iptables -w -t $t -D $base -j $c 2>/dev/null; do :; done
            while iptables -w -t $t -D $base -m comment --comment "CNI portfwd requiring masquerade" -j $c 2>/dev/null; do :; done
            while iptables -w -t $t -D $base -m addrtype --dst-type LOCAL -j $c 2>/dev/null; do :; done
            while iptables -w -t $t -D $base -m comment --comment "CNI firewall plugin rules" -j $c 2>/dev/null; do :; done
          done
        done
        for c in CNI-FORWARD CNI-HOSTPORT-DNAT CNI-HOSTPORT-SETMARK CNI-HOSTPORT-MASQ CNI-ADMIN; do
          iptables -w -t $t -F $c 2>/dev/null && iptables -w -t $t -X $c 2>/dev/null || true
        done
      done
      [ $had_nat = 1 ] || { [ -z "$(nft list table ip nat 2>/dev/null | grep -E '^\s+(ip|meta|counter|jump|masquerade)')" ] && nft delete table ip nat 2>/dev/null || true; }
      # portmap makes an ip6 nat table even for IPv4-only pods; drop it when we made it and it is empty.
      [ $had_nat6 = 1 ] || { [ -z "$(nft list table ip6 nat 2>/dev/null | grep -E '^\s+(chain|ip6|meta|counter|jump|masquerade)')" ] && nft delete table ip6 nat 2>/dev/null || true; }
      [ $had_filter = 1 ] || { [ -z "$(nft list table ip filter 2>/dev/null | grep -E '^\s+(ip|meta|counter|jump|accept|drop)')" ] && nft delete table ip filter 2>/dev/null || true; }
    fi
    for m in $(awk -v d="$dir" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r); do umount -l "$m"; done
    rm -rf "$dir"
    unset PODNS_RUN_DIR PODNS_STATE_DIR PODNS_DEFAULT_BRIDGE PODNS_DEFAULT_SUBNET
  }
  trap demo_pods_cleanup RETURN

  echo "== podns pod create web -p 127.0.0.1:$port:8080   (default network: bridge + host-local + portmap + firewall + tuning)"
  "$podns" pod create web -p 127.0.0.1:$port:8080
  echo "== podns pod create client"
  "$podns" pod create client
  echo "== podns pod ls"
  "$podns" pod ls
  local web_ip; web_ip=$("$podns" pod inspect web --json | sed -n 's/.*"address": "\([0-9.]*\)\/.*/\1/p' | head -1)
  echo "== client pings web ($web_ip)"
  if command -v ping >/dev/null; then
    "$podns" pod exec client -- ping -c 2 -W 2 "$web_ip"
  else
    "$podns" pod exec client -- busybox ping -c 2 -W 2 "$web_ip"
  fi
  echo "== a small server inside web on :8080, fetched from the host at 127.0.0.1:$port"
  mkdir -p "$dir/www" && echo "hello from pod web" > "$dir/www/index.html"
  # The server quits by itself (timeout): killing `podns pod exec` would not stop its child.
  "$podns" pod exec web -- timeout 8 busybox httpd -f -p 8080 -h "$dir/www" &
  server_pid=$!
  for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$port/" 2>/dev/null && break; sleep 0.1; done
  echo "== podns pod inspect web"
  "$podns" pod inspect web
  echo "== podns pod stats"
  "$podns" pod stats 2>/dev/null || echo "(pod stats not available in this build)"
  echo "== podns pod oci-spec web   (paste into a runtime's config.json to join the pod)"
  "$podns" pod oci-spec web
  wait "$server_pid" 2>/dev/null || true
  echo "== podns pod rm web client"
  "$podns" pod rm web client
  echo "== podns gc   (nothing left to clean)"
  "$podns" gc
  echo "== podns pod ls"
  "$podns" pod ls
}
