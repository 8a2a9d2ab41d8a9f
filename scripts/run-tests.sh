#!/usr/bin/env bash
# Run the whole CTest suite of one build dir, then check the host looks as it did before.
set -euo pipefail
build=${1:?usage: run-tests.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)

before=$(mktemp)
after=$(mktemp)
trap 'rm -f "$before" "$after"' EXIT
"$here/host-snapshot.sh" > "$before"
# Serial on purpose: every test process checks on exit that it leaked nothing on the host, which
# only works when no other test is changing the host at the same time.
ctest --test-dir "$build" --output-on-failure --no-tests=error
"$here/host-snapshot.sh" > "$after"
if ! diff -u "$before" "$after" >/dev/null; then
  echo "run-tests: the suite changed the host:" >&2
  diff -u "$before" "$after" | grep '^[+-][^+-]' >&2 || true
  exit 1
fi
