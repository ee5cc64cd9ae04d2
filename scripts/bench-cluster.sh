#!/usr/bin/env bash
# Cross-node delivery latency of a two-node reuse-chat cluster (MariaDB, Redis, tansu as the
# Kafka-protocol broker): for each fetch.wait.max.ms in FETCH_WAITS, start the broker and two
# release nodes, send RATE msg/s for DURATION seconds on node A to receivers on node B, and print
# one line, then where the time went: latency by second of the run, the client's split at
# createdAt, and both nodes' reuse_chat_hop_* histograms (see docs/BENCHMARKS.md). The same
# traffic within one node follows the first setting, on a cluster of its own: tansu's memory
# engine slows down as its log grows, so every measurement starts from an empty broker.
# Each line also gives the load average and the broker's CPU during the run: a busy machine
# shows in the tail.
# Usage: scripts/bench-cluster.sh            (defaults: RATE=1000 ROOMS=50 DURATION=10)
# Honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_mariadb
ensure_redis
ensure_tansu

RATE=${RATE:-1000}
ROOMS=${ROOMS:-50}
DURATION=${DURATION:-10}
FETCH_WAITS=${FETCH_WAITS:-"10 100 500"}
TANSU=${REUSE_CHAT_TANSU:-$(command -v tansu || echo "$HOME/.cargo/bin/tansu")}

cargo build --release --locked -q -p reuse-chat -p reuse-chat-bench
bin=${CARGO_TARGET_DIR:-target}/release
work=$(mktemp -d)
db="rc_bench_$$"
pids=()
stop_cluster() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
}
cleanup() {
  stop_cluster
  mariadb -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS $db" || true
  redis-cli --scan --pattern "$db*" | xargs -r redis-cli del >/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_ready() {
  for _ in $(seq 1 200); do
    curl -fs "http://127.0.0.1:$1/ready" >/dev/null && return 0
    sleep 0.1
  done
  echo "node on $1 not ready" >&2; cat "$work"/*.log >&2; return 1
}

# A fresh database, broker and two nodes; sets broker, node_a and node_b to their pids.
start_cluster() {
  local wait_ms=$1
  mariadb -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
  "$TANSU" broker --listener-url tcp://127.0.0.1:19092 --advertised-listener-url tcp://127.0.0.1:19092 \
    --storage-engine memory://tansu/ >"$work/tansu.log" 2>&1 &
  broker=$!
  pids+=("$broker")
  sleep 1
  for port in 18071 18072; do
    "$bin/reuse-chat" serve --listen "127.0.0.1:$port" \
      --database "mysql://root@127.0.0.1:3306/$db" \
      --presence redis://127.0.0.1:6379 --presence-prefix "$db" \
      --bus "kafka://127.0.0.1:19092?topic=$db&fetch-wait-ms=$wait_ms" \
      --max-connections-per-ip 0 --log warn >"$work/node-$port.log" 2>&1 &
    pids+=($!)
  done
  node_a=${pids[1]}
  node_b=${pids[2]}
  wait_ready 18071
  wait_ready 18072
}

ticks() { awk '{print $14+$15}' /proc/"$1"/stat; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# One measurement from node A to node $1, with the broker's share of a core while it ran.
measure() {
  local recv=$1 t0 t1 s0 s1
  t0=$(ticks "$broker"); s0=$(date +%s%N)
  "$bin/cross-node-latency" --send 127.0.0.1:18071 --recv "127.0.0.1:$recv" \
    --rooms "$ROOMS" --rate "$RATE" --seconds "$DURATION"
  t1=$(ticks "$broker"); s1=$(date +%s%N)
  echo "  broker cpu: $(( (t1 - t0) * 100 * 1000000000 / $(getconf CLK_TCK) / (s1 - s0) ))% of a core; load after: [$(load)]"
}

cpu() { grep -m1 "^$1" /proc/cpuinfo | cut -d: -f2 | xargs; }
echo "machine: $(nproc) cores, $(cpu 'model name') (family $(cpu 'cpu family'), model $(cpu 'model\s'))," \
  "$(free -g | awk '/Mem/{print $2}') GiB; $("$TANSU" --version 2>/dev/null | head -n1)"
for wait_ms in $FETCH_WAITS; do
  start_cluster "$wait_ms"
  # Idle cost of the setting: CPU seconds the two nodes use in 10 s without traffic.
  t0=$(( $(ticks "$node_a") + $(ticks "$node_b") )); sleep 10
  t1=$(( $(ticks "$node_a") + $(ticks "$node_b") ))
  printf 'fetch-wait-ms=%s idle-cpu=%s%% load=[%s] ' "$wait_ms" \
    "$(( (t1 - t0) * 100 / $(getconf CLK_TCK) / 10 ))" "$(load)"
  measure 18072
  stop_cluster
  if [ "$wait_ms" = "${FETCH_WAITS%% *}" ]; then
    # The same traffic within one node: what storage and the session loop cost without the bus
    # hop (node A still publishes and node B still consumes, as in a cluster).
    start_cluster "$wait_ms"
    printf 'same-node (no bus hop) load=[%s] ' "$(load)"
    measure 18071
    stop_cluster
  fi
done
