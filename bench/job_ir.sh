#!/usr/bin/env bash
# bench/job_ir.sh BUILD [N] — instructions per `help` job, per process (callgrind, user space).
#
# Runs BUILD/slashd serve under valgrind --tool=callgrind --trace-children=yes with one worker
# and bench/run's ini (per-user and per-plugin caps off), sends 200 `help` as a warm-up, zeroes
# the counts (callgrind_control -z), sends N (default 500) at 100/s over 4 connections with
# BUILD/bench/ackbench, dumps, and prints each process's total / N. Deterministic: the same on
# a loaded machine. The spawner (workers forked from it) prints ~0; the worker is the forked one.
set -euo pipefail
# shellcheck source=bench/ini.sh
. "$(dirname "$0")/ini.sh"
B=$(cd "$1" && pwd); N=${2:-500}
command -v valgrind >/dev/null || { echo "job_ir: needs valgrind" >&2; exit 2; }
ST=$(mktemp -d /tmp/slashd-job-ir.XXXXXX)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export BENCH_SECRET=job-ir-secret AWS_EC2_METADATA_DISABLED=true
bench_ini "$PORT" "$ST" "$B/plugins" 1 >"$ST/slashd.ini"
A=$B/bench/ackbench
PIN0=(taskset -c 0); PIN1=(taskset -c 1)
[ "${PIN:-1}" = 1 ] || { PIN0=(); PIN1=(); }
"${PIN0[@]}" valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$ST/cg.%p" \
  "$B/slashd" serve -c "$ST/slashd.ini" 2>"$ST/valgrind.log" &
VP=$!
trap 'kill $VP 2>/dev/null || true' EXIT
for _ in $(seq 300); do
  "${PIN1[@]}" "$A" -p "$PORT" -s "$BENCH_SECRET" -n 1 -t nosuch 2>/dev/null | grep -q 'requests=1 ' && break
  sleep 0.3
done
"${PIN1[@]}" "$A" -p "$PORT" -s "$BENCH_SECRET" -n 200 -c 2 -t help -r 100 >/dev/null
sleep 2
for p in $(pgrep -f "callgrind.*$ST"); do callgrind_control -z "$p" >/dev/null 2>&1 || true; done
"${PIN1[@]}" "$A" -p "$PORT" -s "$BENCH_SECRET" -n "$N" -c 4 -t help -r 100 | grep acks
sleep 3
for p in $(pgrep -f "callgrind.*$ST"); do callgrind_control -d "$p" >/dev/null 2>&1 || true; done
sleep 2
kill $VP; wait $VP 2>/dev/null || true
trap - EXIT
for f in "$ST"/cg.*.1; do
  total=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  what=$(head -c 2000 "$f" | grep -m1 '^cmd:' | sed 's/^cmd: //')
  echo "$((total / N)) instructions/job  pid ${f##*cg.}  $what"
done
echo "callgrind files: $ST"
