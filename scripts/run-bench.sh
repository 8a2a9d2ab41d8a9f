#!/usr/bin/env bash
# Run every benchmark of one build dir (as root: they create real namespaces, veths and pods) and
# keep the JSON results beside the console output in <build>/bench-results/.
set -euo pipefail
build=${1:?usage: run-bench.sh BUILD_DIR}
out="$build/bench-results"
mkdir -p "$out"
for b in "$build"/bench/bench_*; do
  [ -x "$b" ] || continue
  name=$(basename "$b")
  echo "== $name"
  "$b" --benchmark_out="$out/$name.json" --benchmark_out_format=json "$@"
done
