#!/usr/bin/env bash
# Old binary against new on one machine: the persistence run on each backend, old and new
# alternately, a fresh database (and server) for each run, ROUNDS times (default 3). What
# docs/BENCHMARKS.md's "before and after" tables come from.
#
#   git worktree add /tmp/old <rev> && (cd /tmp/old && CARGO_TARGET_DIR=/tmp/oldtarget \
#     cargo build --release -p reuse-chat)
#   cargo build --release -p reuse-chat -p reuse-chat-bench
#   scripts/bench-ab.sh /tmp/oldtarget/release/reuse-chat target/release/reuse-chat
#   target/release/reuse-chat-bench table target/bench/ab.jsonl
#
# Each binary gets the flags it knows: NEW_ARGS (default: every rate limit in the path at
# 1,000,000/s, as scripts/bench.sh runs) for the new one, OLD_ARGS for the old.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=$1 NEW=$2
BACKENDS=${BACKENDS:-"sqlite mysql postgres"}
ROUNDS=${ROUNDS:-3}
OUT=${OUT:-target/bench/ab.jsonl}
mkdir -p "$(dirname "$OUT")"
GEN="target/release/reuse-chat-bench --out $OUT --sources 8"
LIMITS=$(printf '%s=1000000/s:1000000,' messages rooms uploads reports blocks connects requests)
read -r -a NEW_EXTRA <<< "${NEW_ARGS:---rate-limits ${LIMITS%,}}"
read -r -a OLD_EXTRA <<< "${OLD_ARGS:-}"
ulimit -n "$(ulimit -Hn)"
for round in $(seq 1 "$ROUNDS"); do
  for backend in $BACKENDS; do
    for which in old new; do
      if [ "$which" = old ]; then bin=$OLD; extra=("${OLD_EXTRA[@]}"); else bin=$NEW; extra=("${NEW_EXTRA[@]}"); fi
      dir=$(mktemp -d /tmp/bench-ab.XXXXXX); name=bench_ab_$RANDOM$RANDOM; db=(); db_pid=""
      case $backend in
        mysql) mariadb -h127.0.0.1 -uroot -e "CREATE DATABASE $name"
          db=(--database "mysql://root@127.0.0.1:3306/$name"); db_pid=$(pgrep -o -x mariadbd || pgrep -o -x mysqld) ;;
        postgres) psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $name"
          db=(--database "postgres://postgres@127.0.0.1:5432/$name"); db_pid=$(pgrep -o -x postgres) ;;
      esac
      "$bin" serve --listen 127.0.0.1:18070 --data-dir "$dir" --log warn --max-connections-per-ip 0 \
        "${db[@]}" "${extra[@]}" &
      pid=$!
      for _ in $(seq 1 100); do curl -fs http://127.0.0.1:18070/health >/dev/null 2>&1 && break; sleep 0.2; done
      echo "== round $round $backend $which"
      $GEN --target reuse-chat --addr 127.0.0.1:18070 --server-pid "$pid" ${db_pid:+--db-pid "$db_pid"} \
        --label "$backend-$which" persist --publishers 64 --secs 10 >/dev/null || echo "!! failed" >&2
      kill "$pid"; wait "$pid" 2>/dev/null || true
      case $backend in
        mysql) mariadb -h127.0.0.1 -uroot -e "DROP DATABASE $name" ;;
        postgres) psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE $name" ;;
      esac
      rm -rf "$dir"; sleep 2
    done
  done
done
