#!/usr/bin/env bash
# Build the libFuzzer targets with clang (a separate build dir; GCC cannot build fuzzers) and run
# each one in turn for SECONDS_PER_TARGET on its seed corpus tests/fuzz/corpus/<name>. Prints per
# target the executions, the rate, the corpus size and the crashes, then the totals. A crash (or a
# timeout, or running out of memory) fails the script and leaves its reproducer in
# BUILD_DIR/fuzz-artifacts/; replay it with BUILD_DIR/tests/fuzz/fuzz_<name> FILE.
#   scripts/run-fuzz.sh [BUILD_DIR] [SECONDS_PER_TARGET] [NAME...]     (NAME: idmap, pod_spec, ...)
# Environment:
#   FUZZ_CORPUS_DIR  where the inputs each run adds are kept (one dir per target), so the next run
#                    starts from them; default a temp dir, removed afterwards. Never the source tree.
#   FUZZ_CXX         the clang to build with (clang++-16).
#   FUZZ_JOBS        parallel compile jobs (nproc).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath -m "${1:-$here/build-fuzz}")
secs=${2:-${FUZZ_SECONDS:-15}}
shift $(($# > 2 ? 2 : $#))
cxx=${FUZZ_CXX:-clang++-16}
command -v "$cxx" >/dev/null || { echo "run-fuzz: $cxx not found (install clang-16 libclang-rt-16-dev)" >&2; exit 1; }

# Every tests/fuzz/fuzz_<name>.cpp is a target (tests/fuzz/CMakeLists.txt globs the same files).
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for src in "$here"/tests/fuzz/fuzz_*.cpp; do
    n=$(basename "$src" .cpp)
    names+=("${n#fuzz_}")
  done
fi
targets=()
for n in "${names[@]}"; do
  [ -f "$here/tests/fuzz/fuzz_$n.cpp" ] || { echo "run-fuzz: no target $n (tests/fuzz/fuzz_$n.cpp)" >&2; exit 2; }
  targets+=("fuzz_$n")
done

if [ ! -f "$build/build.ninja" ]; then
  CXX=$cxx cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPODNS_FUZZ=ON -DPODNS_TESTS=OFF -DPODNS_BENCH=OFF >/dev/null
fi
cmake --build "$build" -j "${FUZZ_JOBS:-$(nproc)}" --target "${targets[@]}"

# Stack traces with function names and lines (clang-16 looks for its own llvm-symbolizer first,
# which Debian ships in another package).
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ]; then
  for s in llvm-symbolizer-16 llvm-symbolizer; do
    if command -v "$s" >/dev/null; then export ASAN_SYMBOLIZER_PATH=$(command -v "$s"); break; fi
  done
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
corpora=${FUZZ_CORPUS_DIR:-$work/corpus}
artifacts=$build/fuzz-artifacts
mkdir -p "$artifacts"

failed=()
total_execs=0
total_crashes=0
printf 'run-fuzz: %s s per target\n' "$secs"
printf '%-20s %12s %9s %7s %8s %8s\n' target execs exec/s corpus crashes seconds
for n in "${names[@]}"; do
  t=fuzz_$n
  mkdir -p "$corpora/$n"
  log=$work/$n.log
  start=$(date +%s)
  rc=0
  # -max_len: JSON documents up to 64 KiB; -timeout: one input taking 10 s is a hang, and a
  # finding like a crash; -rss_limit_mb: a blow-up in memory too.
  "$build/tests/fuzz/$t" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/$n-" \
    "$corpora/$n" "$here/tests/fuzz/corpus/$n" >"$log" 2>&1 || rc=$?
  elapsed=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  units=$(find "$corpora/$n" -type f | wc -l)
  crashes=0
  if [ "$rc" -ne 0 ]; then
    crashes=1
    failed+=("$n")
  fi
  printf '%-20s %12s %9s %7s %8s %8s\n' "$t" "${execs:-?}" "${rate:-?}" "$units" "$crashes" "$elapsed"
  total_execs=$((total_execs + ${execs:-0}))
  total_crashes=$((total_crashes + crashes))
  if [ "$rc" -ne 0 ]; then
    grep -E 'ERROR|invariant failed|runtime error|SUMMARY|Test unit written' "$log" | head -20 >&2 || true
    cp "$log" "$artifacts/$n.log"
    echo "run-fuzz: $t failed (exit $rc); reproducer and log in $artifacts" >&2
  fi
done
printf '%-20s %12s %9s %7s %8s\n' total "$total_execs" "" "" "$total_crashes"
if [ ${#failed[@]} -ne 0 ]; then
  echo "run-fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "run-fuzz: all fuzzers ran clean"
