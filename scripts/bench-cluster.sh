#!/usr/bin/env bash
# Cross-node delivery latency of a two-node reuse-chat cluster (MariaDB, Redis, tansu as the
# Kafka-protocol broker): for each fetch.wait.max.ms in FETCH_WAITS, start the broker and two
# release nodes, send RATE msg/s for DURATION seconds on node A to receivers on node B, print one line.
# Usage: scripts/bench-cluster.sh            (defaults: RATE=1000 ROOMS=50 DURATION=10)
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
work=$(mktemp -d)
db="rc_bench_$$"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
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

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/{print $2}') GiB"
for wait_ms in $FETCH_WAITS; do
  mariadb -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
  "$TANSU" broker --listener-url tcp://127.0.0.1:19092 --advertised-listener-url tcp://127.0.0.1:19092 \
    --storage-engine memory://tansu/ >"$work/tansu.log" 2>&1 &
  pids+=($!)
  sleep 1
  for port in 18071 18072; do
    target/release/reuse-chat serve --listen "127.0.0.1:$port" \
      --database "mysql://root@127.0.0.1:3306/$db" \
      --presence redis://127.0.0.1:6379 --presence-prefix "$db" \
      --bus "kafka://127.0.0.1:19092?topic=$db&fetch-wait-ms=$wait_ms" \
      --max-connections-per-ip 0 --log warn >"$work/node-$port.log" 2>&1 &
    pids+=($!)
  done
  wait_ready 18071
  wait_ready 18072
  # Idle cost of the setting: CPU seconds the two nodes use in 10 s without traffic.
  idle_ticks() { awk '{print $14+$15}' /proc/"$1"/stat; }
  n=${#pids[@]}; a=${pids[$((n-2))]}; b=${pids[$((n-1))]}
  t0=$(( $(idle_ticks "$a") + $(idle_ticks "$b") )); sleep 10
  t1=$(( $(idle_ticks "$a") + $(idle_ticks "$b") ))
  printf 'fetch-wait-ms=%s idle-cpu=%s%% ' "$wait_ms" "$(( (t1 - t0) * 100 / $(getconf CLK_TCK) / 10 ))"
  target/release/cross-node-latency --send 127.0.0.1:18071 --recv 127.0.0.1:18072 \
    --rooms "$ROOMS" --rate "$RATE" --seconds "$DURATION"
  if [ "$wait_ms" = "${FETCH_WAITS%% *}" ]; then
    # The same traffic within one node: what storage and the session loop cost without Kafka.
    printf 'same-node (no bus hop) '
    target/release/cross-node-latency --send 127.0.0.1:18071 --recv 127.0.0.1:18071 \
      --rooms "$ROOMS" --rate "$RATE" --seconds "$DURATION"
  fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
done
