#!/usr/bin/env bash
# Prepare this machine for the privileged and rootless tests (run as root by `make test`):
# - /dev/net/tun usable by an unprivileged user (slirp4netns and pasta open it in the pod's netns);
# - a `root:` range in /etc/subuid and /etc/subgid so newuidmap/newgidmap work for root;
# - an unprivileged test user with its own subordinate ranges, for the rootless tests.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "test-setup: not root; privileged tests will skip" >&2; exit 0; }

[ -c /dev/net/tun ] && chmod 0666 /dev/net/tun

add_range() {  # file user start
  grep -q "^$2:" "$1" 2>/dev/null || echo "$2:$3:65536" >> "$1"
}
touch /etc/subuid /etc/subgid
add_range /etc/subuid root 1000000
add_range /etc/subgid root 1000000

if ! id podns-test >/dev/null 2>&1; then
  useradd --system --create-home --home-dir /var/lib/podns-test --shell /bin/bash podns-test
fi
add_range /etc/subuid podns-test 2000000
add_range /etc/subgid podns-test 2000000
