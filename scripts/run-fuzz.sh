#!/usr/bin/env bash
# Build the libFuzzer targets with clang (a separate build dir; GCC cannot build fuzzers) and run
# each one briefly on its seed corpus under tests/fuzz/corpus. New inputs go to a temp dir, never
# into the source tree; a crash leaves its reproducer in the build dir and fails the script.
#   scripts/run-fuzz.sh [BUILD_DIR] [SECONDS_PER_TARGET]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build-fuzz}
secs=${2:-${FUZZ_SECONDS:-20}}
cxx=${FUZZ_CXX:-clang++-16}
command -v "$cxx" >/dev/null || { echo "run-fuzz: $cxx not found (install clang-16 libclang-rt-16-dev)" >&2; exit 1; }

if [ ! -f "$build/build.ninja" ]; then
  CXX=$cxx cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPODNS_FUZZ=ON -DPODNS_TESTS=OFF -DPODNS_BENCH=OFF >/dev/null
fi
targets=(fuzz_cni_config fuzz_cni_result fuzz_cni_cache)
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for t in "${targets[@]}"; do
  corpus=$here/tests/fuzz/corpus/${t#fuzz_cni_}
  mkdir -p "$work/$t"
  echo "run-fuzz: $t for ${secs}s"
  (cd "$build" && "./tests/fuzz/$t" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
     -print_final_stats=0 "$work/$t" "$corpus" 2>"$work/$t.log") || {
    tail -40 "$work/$t.log" >&2
    echo "run-fuzz: $t failed; reproducer in $build" >&2
    exit 1
  }
  grep -E "^(#[0-9]+\s+DONE|Done)" "$work/$t.log" | tail -1 || true
done
echo "run-fuzz: all fuzzers ran clean"
