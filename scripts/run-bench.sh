#!/usr/bin/env bash
# Run every benchmark of one build dir (as root: they create real namespaces, veths and pods) and
# keep the JSON results beside the console output in <build>/bench-results/. Each benchmark binary
# must leave the host as it found it (host-snapshot.sh, as the test suite checks): a run that
# leaks a pin, a link, an nft table or a process fails, naming the binary.
set -euo pipefail
build=${1:?usage: run-bench.sh BUILD_DIR [benchmark flags]}
shift
here=$(cd "$(dirname "$0")" && pwd)
out="$build/bench-results"
mkdir -p "$out"
before=$(mktemp)
after=$(mktemp)
trap 'rm -f "$before" "$after"' EXIT
for b in "$build"/bench/bench_*; do
  [ -x "$b" ] || continue
  name=$(basename "$b")
  echo "== $name"
  "$here/host-snapshot.sh" > "$before"
  "$b" --benchmark_out="$out/$name.json" --benchmark_out_format=json "$@"
  "$here/host-snapshot.sh" > "$after"
  if ! diff -u "$before" "$after" >/dev/null; then
    echo "run-bench: $name changed the host:" >&2
    diff -u "$before" "$after" | grep '^[+-][^+-]' >&2 || true
    exit 1
  fi
done
