#!/usr/bin/env bash
# make demo: podns doing its main job on this machine, leaving the host as it was.
set -euo pipefail
podns=${1:?usage: demo.sh PATH_TO_PODNS}
here=$(cd "$(dirname "$0")" && pwd)

# --- Namespace core: a netns pin that `ip netns` sees, inspected, entered, removed.
demo_ns=podns-demo-$$
trap '"$podns" ns rm "$demo_ns" >/dev/null 2>&1 || true' EXIT
echo "+ podns ns add $demo_ns --type net --type uts"
"$podns" ns add "$demo_ns" --type net --type uts
echo "+ ip netns list   (iproute2 sees the podns pin)"
ip netns list | grep -F "$demo_ns"
echo "+ podns ns ls"
"$podns" ns ls
echo "+ podns ns info $demo_ns"
"$podns" ns info "$demo_ns"
echo "+ podns ns exec $demo_ns -- sh -c 'ls /sys/class/net; ip -br addr'"
"$podns" ns exec "$demo_ns" -- sh -c 'ls /sys/class/net; ip -br addr'
echo "+ podns ns rm $demo_ns"
"$podns" ns rm "$demo_ns"
if ip netns list | grep -qF "$demo_ns"; then echo "demo: $demo_ns left behind" >&2; exit 1; fi
echo "namespace core: host clean again"

# --- Pods: two pods on the native default network, ping, a published port, a second network, inspect, stats, rm.
# shellcheck source=demo-pods.sh
. "$here/demo-pods.sh"
demo_pods "$podns"
echo "demo: done; the host is as it was"
