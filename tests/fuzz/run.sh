#!/usr/bin/env bash
# Runs every libFuzzer harness for SECONDS each (default 30) from the seed
# corpora in tests/fuzz/corpus/, and fails on any crash, leak, timeout or
# sanitizer report. New inputs go to a scratch directory; the checked-in
# seeds are never modified. Crash reproducers are kept in build-fuzz/crashes/.
#   tests/fuzz/run.sh [SECONDS] [harness...]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_EACH=${1:-30}; shift || true
BUILD=${SLASHD_FUZZ_BUILD:-build-fuzz}
CC=clang cmake -S . -B "$BUILD" -DSLASHD_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target $(ls tests/fuzz/fuzz_*.c | xargs -n1 basename | sed 's/\.c$//') >/dev/null
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || mapfile -t harnesses < <(ls "$BUILD"/fuzz/)
mkdir -p "$BUILD/crashes"
status=0
printf '%-16s %12s %10s %8s  %s\n' harness executions exec/s corpus result
for h in "${harnesses[@]}"; do
  scratch=$(mktemp -d)
  log="$BUILD/crashes/$h.log"
  if "$BUILD/fuzz/$h" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="$BUILD/crashes/$h-" \
       "$scratch" "tests/fuzz/corpus/$h" >"$log" 2>&1; then
    result=ok
  else
    result="FAILED (see $log)"
    status=1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  units=$(ls "$scratch" | wc -l)
  printf '%-16s %12s %10s %8s  %s\n' "$h" "$runs" "$rate" "$units" "$result"
  rm -rf "$scratch"
done
exit $status
