#!/usr/bin/env bash
# The pod part of `make demo` (scripts/demo.sh sources this file and calls demo_pods PODNS):
# two pods on the native default network (bridge, veth, IPAM and nftables NAT done in process, no
# plugin exec'd), one pings the other, a published port fetched from the host, a second network
# isolated from the first, inspect and stats, everything removed and the host left as it was (the
# state, pins, bridges and the nftables table are private to this run and removed at the end).
demo_pods() {
  local podns=${1:?usage: demo_pods PATH_TO_PODNS}
  if [ "$(id -u)" -ne 0 ]; then
    echo "demo_pods: needs root (bridge networking); skipped"
    return 0
  fi
  local dir; dir=$(mktemp -d /tmp/podns-demo-XXXXXX)
  # A table, bridges and subnets of the demo's own: a real podns on this host is never touched.
  export PODNS_RUN_DIR=$dir/run PODNS_STATE_DIR=$dir/state PODNS_NFT_TABLE=podns_demo
  export PODNS_DEFAULT_BRIDGE=podnsdemo0 PODNS_DEFAULT_SUBNET=10.89.77.0/24
  local port=18089

  demo_pods_cleanup() {
    "$podns" pod rm --force web client other >/dev/null 2>&1 || true
    "$podns" network rm --force podns backend >/dev/null 2>&1 || true
    "$podns" gc >/dev/null 2>&1 || true
    wait "${server_pid:-}" 2>/dev/null || true
    ip link del podnsdemo0 2>/dev/null || true
    ip link del podnsdemo1 2>/dev/null || true
    nft delete table inet podns_demo 2>/dev/null || true
    for m in $(awk -v d="$dir" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r); do umount -l "$m"; done
    rm -rf "$dir"
    unset PODNS_RUN_DIR PODNS_STATE_DIR PODNS_NFT_TABLE PODNS_DEFAULT_BRIDGE PODNS_DEFAULT_SUBNET
  }
  trap demo_pods_cleanup RETURN

  echo "== podns pod create web -p 127.0.0.1:$port:8080   (the native default network: created on first use)"
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
  echo "== podns network create backend --subnet 10.89.78.0/24 --ipv6 --bridge podnsdemo1"
  "$podns" network create backend --subnet 10.89.78.0/24 --ipv6 --bridge podnsdemo1
  echo "== podns pod create other --network backend"
  "$podns" pod create other --network backend
  echo "== other cannot reach web: networks are isolated"
  if "$podns" pod exec other -- ping -c 1 -W 1 "$web_ip" >/dev/null 2>&1; then
    echo "demo: other reached web across networks" >&2; return 1
  fi
  echo "   (no answer, as it should be)"
  echo "== podns network ls"
  "$podns" network ls
  echo "== podns network inspect podns"
  "$podns" network inspect podns
  echo "== nft list table inet podns_demo   (one table; pods add map elements, never rules)"
  nft list table inet podns_demo
  echo "== podns pod inspect web"
  "$podns" pod inspect web
  echo "== podns pod stats"
  "$podns" pod stats
  echo "== podns pod oci-spec web   (paste into a runtime's config.json to join the pod)"
  "$podns" pod oci-spec web
  wait "$server_pid" 2>/dev/null || true
  echo "== podns pod rm web client other"
  "$podns" pod rm web client other
  echo "== podns network rm backend podns"
  "$podns" network rm backend podns
  echo "== podns gc   (nothing left to clean)"
  "$podns" gc
  echo "== podns pod ls"
  "$podns" pod ls
}
