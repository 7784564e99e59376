#!/usr/bin/env bash
# Ack latency of a fresh slashd: N signed `/aws TEXT` commands over C
# keep-alive connections, every reply waited for.
#   bench/ack_latency.sh [N=2000] [C=1] [TEXT=help]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}; C=${2:-1}; TEXT=${3:-help}
[ -x build/slashd ] && [ -x build/bench/ackbench ] || { echo "build first: ./dev build" >&2; exit 1; }
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$dir/bench.ini" <<INI
[server]
listen = 127.0.0.1:$port
workers = 4
queue = 256
state_dir = $dir/state
; The bench measures the host's capacity: the per-user and per-plugin
; running caps (which a burst of one plugin hits by design) are off.
max_running_per_user = 0
max_running_per_plugin = 0
log_level = warn
[slack]
signing_secret = env:BENCH_SECRET
response_hosts = 127.0.0.1
[plugins]
dir = $PWD/build/plugins
[plugin.help]
INI
export BENCH_SECRET=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
build/slashd serve -c "$dir/bench.ini" 2> "$dir/log" & pid=$!
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.05; done
echo "slashd $(build/slashd --version | cut -d' ' -f2), $(nproc) cores; $N x '/aws $TEXT' over $C connection(s)"
build/bench/ackbench -p "$port" -s "$BENCH_SECRET" -n "$N" -c "$C" -t "$TEXT"
