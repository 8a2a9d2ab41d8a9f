#!/usr/bin/env bash
# Install the Debian packages podns needs to build, test and run, if any are missing.
# Idempotent and quiet when everything is there already.
#   scripts/install-deps.sh          everything: build, tests, benchmarks, fuzzing, peers
#   scripts/install-deps.sh --demo   only what `make demo` needs: build the CLI, run the demo
set -euo pipefail

demo_packages=(
  cmake ninja-build g++ pkg-config ccache make
  libmnl-dev libnftnl-dev libnftables-dev nlohmann-json3-dev libcli11-dev libfmt-dev libsqlite3-dev
  iproute2 nftables busybox-static curl iputils-ping procps
)
packages=(
  "${demo_packages[@]}"
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  # fuzzing (libFuzzer comes with clang's runtime)
  clang-16 libclang-rt-16-dev
  # runtime peers and test tools
  containernetworking-plugins slirp4netns passt iproute2 runc uidmap busybox-static
  iptables nftables procps util-linux python3 socat hyperfine curl iputils-ping man-db
  # a real CNI runtime that podns did not write: libcni 1.1.2 (Go), driving the podns-bridge plugin
  golang-go golang-github-appc-cni-dev
)

[ "${1:-}" = "--demo" ] && packages=("${demo_packages[@]}")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]} (run as root, or install them)" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
