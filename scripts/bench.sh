#!/usr/bin/env bash
# Reproduces the table of docs/BENCHMARKS.md: builds with --release, then runs every scenario
# of reuse-chat-bench against reuse-chat (SQLite, then MariaDB and PostgreSQL for the
# persistence rows), RabbitMQ's Web-STOMP plugin and the bare baseline server, and prints the
# table. Next to each of reuse-chat's persistence rows it measures the physical limit of that
# storage: `reuse-chat-bench bare-storage`, the same rows, schema, statements and batches stored
# by a bare loop without reuse-chat (SQLite in the temporary directory, MariaDB and PostgreSQL
# in a random database of their own). Loopback only. Results go to
# target/bench/results-<time>.jsonl (or $BENCH_OUT). The release build goes to
# $CARGO_TARGET_DIR when set.
#
#   scripts/bench.sh            # the table (about 15 minutes)
#   BENCH_MODE=quick scripts/bench.sh   # smaller and shorter, to check the script itself
#   BENCH_TARGETS="reuse-chat baseline" scripts/bench.sh   # a subset of the targets
#   BENCH_TARGETS=search scripts/bench.sh   # search alone (issue 17), on the three databases
#   BENCH_BARE_BATCH=256 scripts/bench.sh   # the bare loop's messages per transaction (default:
#                                           # the mean batch of reuse-chat's run just before)
#   BENCH_BARE_PER_ROOM=1 scripts/bench.sh  # and its messages per room in a row (27, as
#                                           # reuse-chat's persist batches hold them)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh

MODE=${BENCH_MODE:-full}
TARGETS=${BENCH_TARGETS:-"baseline reuse-chat rabbitmq search"}
mkdir -p target/bench
OUT=${BENCH_OUT:-target/bench/results-$(date +%Y%m%d-%H%M%S).jsonl}
WORK=$(mktemp -d /tmp/reuse-chat-bench.XXXXXX)
RUN=$RANDOM$RANDOM
PIDS=()
DATABASES=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  for db in "${DATABASES[@]}"; do
    case $db in
      mysql:*) mariadb -h127.0.0.1 -uroot -e "DROP DATABASE IF EXISTS \`${db#mysql:}\`" || true ;;
      postgres:*) psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS ${db#postgres:}" || true ;;
    esac
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# Every session is a socket on each side: raise the open-file limit as far as allowed.
ulimit -n "$(ulimit -Hn)"
FDS=$(ulimit -n)
if [ "$MODE" = quick ]; then
  IDLE=2000; ROOMS=1000; RATE=5; SECS=5; WARM=2; FAN_SUBS=2000; RECONNECT=2000; PUBLISHERS=16; HOLD=5; PAGES=50
  LIST_ROOMS=100; LIST_MSGS=100; EVENT_ROOMS=50; TYPING_ROOMS=100; PHOTO_CLIENTS=4; PHOTO_PARALLEL=10
  SEARCH_ROOMS=2000; SEARCH_MSGS=20000
else
  # 300k sessions need 300k descriptors in the server: the hard limit decides. RabbitMQ keeps
  # ~10% of its descriptors for files (17,910 sockets of 20,000), and every target gets the
  # same N.
  IDLE=$(( FDS * 87 / 100 )); [ "$IDLE" -gt 300000 ] && IDLE=300000
  ROOMS=1000; RATE=5; SECS=20; WARM=5
  FAN_SUBS=10000; RECONNECT=10000; PUBLISHERS=64; HOLD=20; PAGES=500
  EVENT_ROOMS=200; TYPING_ROOMS=1000
  PHOTO_CLIENTS=8; PHOTO_PARALLEL=50
  # A busy seller: 1,000 rooms of 1,000 messages each (issue 13).
  LIST_ROOMS=1000; LIST_MSGS=1000
  # Search (issue 17): 1,000,000 messages in 100,000 rooms, a seller with 500 of them.
  SEARCH_ROOMS=100000; SEARCH_MSGS=1000000
fi
echo "== bench mode=$MODE open-files=$FDS idle=$IDLE results=$OUT"

echo "== cargo build --release"
cargo build --release --locked -p reuse-chat -p reuse-chat-bench
TARGET_DIR=${CARGO_TARGET_DIR:-target}
case $TARGET_DIR in /*) ;; *) TARGET_DIR=$PWD/$TARGET_DIR ;; esac
BIN=$TARGET_DIR/release
BARE_PER_ROOM=${BENCH_BARE_PER_ROOM:-27}
GEN="$BIN/reuse-chat-bench --out $OUT --sources 8"

# Runs one scenario; a failed run is reported and the table goes on without it.
run() {
  echo "-- $* (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  $GEN "$@" >/dev/null || echo "!! failed: $*" >&2
  sleep 2
}

# The five scenarios against one target ($1 = kind, $2 = address, $3 = pid, $4 = persist label).
scenarios() {
  local kind=$1 addr=$2 pid=$3 label=$4
  local common=(--target "$kind" --addr "$addr" --server-pid "$pid")
  run "${common[@]}" idle --sessions "$IDLE" --hold-secs "$HOLD"
  # The target rate (ROOMS rooms x 2 senders x RATE), and a fifth of it.
  run "${common[@]}" marketplace --rooms "$ROOMS" --rate "$RATE" --secs "$SECS" --warmup-secs "$WARM"
  run "${common[@]}" marketplace --rooms "$ROOMS" --rate "$(( RATE / 5 ))" --secs "$SECS" --warmup-secs "$WARM"
  for size in 10 1000 10000; do
    run "${common[@]}" fanout --subscribers "$FAN_SUBS" --room-size "$size" --secs "$((SECS / 2))" --warmup-secs 2
  done
  run "${common[@]}" reconnect --sessions "$RECONNECT"
  # Only reuse-chat serves the web page: every open page back at once, 63 rooms each.
  [ "$kind" = reuse-chat ] && run "${common[@]}" page-resume --users "$PAGES" --rooms-each 63
  # Only reuse-chat has per-user event streams (issue 13): events/s while both members of
  # EVENT_ROOMS rooms follow theirs, and every member of TYPING_ROOMS rooms typing at once.
  [ "$kind" = reuse-chat ] && run "${common[@]}" user-events --rooms "$EVENT_ROOMS" --secs "$((SECS / 2))"
  [ "$kind" = reuse-chat ] && run "${common[@]}" typing-storm --rooms "$TYPING_ROOMS" --secs "$((SECS / 2))"
  run "${common[@]}" --label "$label" persist --publishers "$PUBLISHERS" --secs "$((SECS / 2))"
  [ "$kind" = reuse-chat ] && room_list "${common[@]}" --label "$label"
  return 0
}

# GET /room/list of a user with LIST_ROOMS rooms of LIST_MSGS messages each (reuse-chat only;
# the arguments say which server and label).
room_list() {
  run "$@" room-list --rooms "$LIST_ROOMS" --messages-each "$LIST_MSGS" --requests 200
}

wait_http() {
  for _ in $(seq 1 100); do
    curl -fs "$1" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "error: $1 did not answer" >&2
  return 1
}

BENCH_RATE_LIMITS=$(printf '%s=1000000/s:1000000,' messages rooms uploads reports blocks connects requests)
BENCH_RATE_LIMITS=${BENCH_RATE_LIMITS%,}

# Starts reuse-chat on $1 (database URL, empty for SQLite); sets RC_PID.
start_reuse_chat() {
  # Every simulated client connects from loopback: no per-address cap. Simulated users send
  # far faster than people: the rate limits stay in the path (their cost is measured) with
  # limits no bench reaches.
  RC_DATA="$WORK/data-$RANDOM"
  local db=$1 args=(serve --listen 127.0.0.1:18070 --data-dir "$RC_DATA" --log warn
    --max-connections-per-ip 0 --rate-limits "$BENCH_RATE_LIMITS")
  shift
  [ -n "$db" ] && args+=(--database "$db")
  args+=("$@")
  "$BIN/reuse-chat" "${args[@]}" &
  RC_PID=$!
  PIDS+=("$RC_PID")
  wait_http http://127.0.0.1:18070/health
}

# Search (issue 17) on backend $1 (sqlite, mysql, postgres), on a database of its own: the
# history written through the store, then a seller with 500 rooms searches it.
search_bench() {
  local backend=$1 url="" name=bench_search_$RUN db_pid=""
  case $backend in
    mysql) mariadb -h127.0.0.1 -uroot -e "CREATE DATABASE \`$name\`"; DATABASES+=("mysql:$name")
      url="mysql://root@127.0.0.1:3306/$name"; db_pid=$(pgrep -o -x mariadbd || pgrep -o -x mysqld || true) ;;
    postgres) psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $name"; DATABASES+=("postgres:$name")
      url="postgres://postgres@127.0.0.1:5432/$name"; db_pid=$(pgrep -o -x postgres || true) ;;
  esac
  echo "== reuse-chat search: $backend"
  start_reuse_chat "$url"
  [ "$backend" = sqlite ] && url="sqlite://$RC_DATA/reuse-chat.db"
  run --target reuse-chat --addr 127.0.0.1:18070 --server-pid "$RC_PID" ${db_pid:+--db-pid "$db_pid"} \
    --label "$backend" search --database "$url" --rooms "$SEARCH_ROOMS" --messages "$SEARCH_MSGS" \
    --user-rooms 500 --requests 700
  stop_pid "$RC_PID"
}

stop_pid() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# The physical limit of storage beside reuse-chat's persistence row: the bare loop on backend
# $1 at URL $2 (empty: a new SQLite file in $WORK), the database server's pid $3 (may be empty),
# in transactions of the mean size reuse-chat's committer reached in that row (its report's
# "batch", read from /metrics), unless BENCH_BARE_BATCH says otherwise.
bare_storage() {
  local backend=$1 url=$2 db_pid=$3 args=() batch=${BENCH_BARE_BATCH:-}
  if [ -z "$batch" ]; then
    batch=$(grep "\"scenario\":\"persist\",\"target\":\"reuse-chat\"" "$OUT" 2>/dev/null \
      | grep "\"label\":\"$backend\"" | tail -n1 | grep -o '"batch":[0-9.]*' | cut -d: -f2)
    batch=$(printf '%.0f' "${batch:-1024}")
  fi
  [ -n "$url" ] && args+=(--url "$url")
  [ -n "$db_pid" ] && args+=(--db-pid "$db_pid")
  run bare-storage --backend "$backend" --rooms "$PUBLISHERS" --batch "$batch" \
    --per-room "$BARE_PER_ROOM" --secs "$((SECS / 2))" "${args[@]}"
}

# Photos (issue 14), reuse-chat on SQLite: uploads/s and latency of 3 MB phone photos into the
# default directory and into an S3 bucket on s3s-fs; peak memory while 50 photos of 40 MP upload
# at once.
photos() {
  echo "== reuse-chat photos: directory"
  start_reuse_chat ""
  run --target reuse-chat --addr 127.0.0.1:18070 --server-pid "$RC_PID" --label file \
    photo-upload --clients "$PHOTO_CLIENTS" --secs "$((SECS / 2))"
  run --target reuse-chat --addr 127.0.0.1:18070 --server-pid "$RC_PID" --label file \
    photo-memory --parallel "$PHOTO_PARALLEL" --megapixels 40
  stop_pid "$RC_PID"
  echo "== reuse-chat photos: S3 bucket (s3s-fs)"
  ensure_s3s_fs
  mkdir -p "$WORK/s3/bench"
  s3s-fs --host 127.0.0.1 --port 18014 --access-key bench-key --secret-key bench-secret "$WORK/s3" &
  S3_PID=$!
  PIDS+=("$S3_PID")
  wait_port s3s-fs 18014
  AWS_ACCESS_KEY_ID=bench-key AWS_SECRET_ACCESS_KEY=bench-secret start_reuse_chat "" \
    --blobs "s3://bench?endpoint=http://127.0.0.1:18014&region=us-east-1"
  run --target reuse-chat --addr 127.0.0.1:18070 --server-pid "$RC_PID" --label s3 \
    photo-upload --clients "$PHOTO_CLIENTS" --secs "$((SECS / 2))"
  stop_pid "$RC_PID"
  stop_pid "$S3_PID"
}

# Offline notifications (issue 16), reuse-chat on SQLite with the webhook on (bench-push-sink
# answers 204 at once): the marketplace run at the same offered rate with everyone online (the
# notifier's presence check on every message), then with half the rooms' buyers away (every
# message there goes through the notifier into the outbox, and the sender posts each burst).
notifications() {
  echo "== reuse-chat offline notifications (webhook to bench-push-sink)"
  "$BIN/bench-push-sink" --listen 127.0.0.1:18091 &
  SINK_PID=$!
  PIDS+=("$SINK_PID")
  wait_port push-sink 18091
  start_reuse_chat "" --push-webhook http://127.0.0.1:18091/hook \
    --push-webhook-secret bench-webhook-secret-0123
  local common=(--target reuse-chat --addr 127.0.0.1:18070 --server-pid "$RC_PID")
  run "${common[@]}" --label notify-online marketplace --rooms "$ROOMS" --rate "$RATE" \
    --secs "$SECS" --warmup-secs "$WARM"
  run "${common[@]}" --label notify-away marketplace --rooms "$ROOMS" --rate "$RATE" \
    --secs "$SECS" --warmup-secs "$WARM" --away-share 0.5
  echo "-- notifications: $(curl -fs http://127.0.0.1:18070/metrics | grep -E '^reuse_chat_(notifications_queued_total|notifier_overflow_total|push_delivered_total|push_failed_total|notifications_pending)' | tr '\n' ' ')"
  stop_pid "$RC_PID"
  stop_pid "$SINK_PID"
}

for target in $TARGETS; do
  case $target in
    search)
      search_bench sqlite
      ensure_mariadb
      search_bench mysql
      ensure_postgres
      search_bench postgres
      ;;
    baseline)
      echo "== baseline (bare tokio WebSocket broadcast)"
      "$BIN/bench-baseline" --listen 127.0.0.1:18090 &
      BASE_PID=$!
      PIDS+=("$BASE_PID")
      wait_port baseline 18090
      scenarios baseline 127.0.0.1:18090 "$BASE_PID" ""
      stop_pid "$BASE_PID"
      ;;
    reuse-chat)
      echo "== reuse-chat on SQLite"
      start_reuse_chat ""
      scenarios reuse-chat 127.0.0.1:18070 "$RC_PID" sqlite
      stop_pid "$RC_PID"
      notifications
      echo "== bare storage: SQLite"
      bare_storage sqlite "sqlite://$WORK/bare-$RUN.db" ""
      photos

      # reuse-chat and the bare loop each get a database of their own.
      db=bench_$RUN
      bare=bench_bare_$RUN
      ensure_mariadb
      mariadb -h127.0.0.1 -uroot -e "CREATE DATABASE \`$db\`; CREATE DATABASE \`$bare\`"
      DATABASES+=("mysql:$db" "mysql:$bare")
      MARIADB_PID=$(pgrep -o -x mariadbd || pgrep -o -x mysqld || true)
      echo "== reuse-chat on MariaDB"
      start_reuse_chat "mysql://root@127.0.0.1:3306/$db"
      run --target reuse-chat --addr 127.0.0.1:18070 --server-pid "$RC_PID" \
        ${MARIADB_PID:+--db-pid "$MARIADB_PID"} --label mysql \
        persist --publishers "$PUBLISHERS" --secs "$((SECS / 2))"
      room_list --target reuse-chat --addr 127.0.0.1:18070 --server-pid "$RC_PID" \
        ${MARIADB_PID:+--db-pid "$MARIADB_PID"} --label mysql
      stop_pid "$RC_PID"
      echo "== bare storage: MariaDB"
      bare_storage mysql "mysql://root@127.0.0.1:3306/$bare" "$MARIADB_PID"

      ensure_postgres
      psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db"
      psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $bare"
      DATABASES+=("postgres:$db" "postgres:$bare")
      # The postmaster: its CPU and its children's (a backend per connection, the WAL writer,
      # the checkpointer) is the database's.
      PG_PID=$(pgrep -o -x postgres || true)
      echo "== reuse-chat on PostgreSQL"
      start_reuse_chat "postgres://postgres@127.0.0.1:5432/$db"
      run --target reuse-chat --addr 127.0.0.1:18070 --server-pid "$RC_PID" \
        ${PG_PID:+--db-pid "$PG_PID"} --label postgres \
        persist --publishers "$PUBLISHERS" --secs "$((SECS / 2))"
      room_list --target reuse-chat --addr 127.0.0.1:18070 --server-pid "$RC_PID" \
        ${PG_PID:+--db-pid "$PG_PID"} --label postgres
      stop_pid "$RC_PID"
      echo "== bare storage: PostgreSQL"
      bare_storage postgres "postgres://postgres@127.0.0.1:5432/$bare" "$PG_PID"
      ;;
    rabbitmq)
      echo "== RabbitMQ Web-STOMP"
      command -v rabbitmq-plugins >/dev/null || apt_install rabbitmq-server || {
        echo "error: RabbitMQ (rabbitmq-server) is required for its column" >&2; exit 1; }
      port_open 5672 || rabbitmq-server -detached
      wait_port RabbitMQ 5672
      rabbitmq-plugins enable rabbitmq_web_stomp >/dev/null
      beam=$(pgrep -o beam.smp)
      # RabbitMQ takes its socket limit from the open-file limit it was started with; restart
      # it with ours when that is lower, or it refuses connections past ~1,000.
      if [ "$(awk '/Max open files/ {print $4}' "/proc/$beam/limits")" -lt "$FDS" ]; then
        echo "restarting RabbitMQ with open files $FDS"
        rabbitmqctl stop >/dev/null
        # Debian's wrapper switches user through su, whose PAM limits would reset the limit;
        # setpriv keeps it.
        (cd /var/lib/rabbitmq && HOME=/var/lib/rabbitmq setpriv --reuid=rabbitmq --regid=rabbitmq \
          --init-groups /usr/lib/rabbitmq/bin/rabbitmq-server -detached)
        wait_port RabbitMQ 5672
        rabbitmqctl await_startup >/dev/null
        beam=$(pgrep -o beam.smp)
      fi
      wait_port Web-STOMP 15674
      scenarios rabbitmq 127.0.0.1:15674 "$beam" queue
      ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
  esac
done

echo "== results: $OUT"
"$BIN/reuse-chat-bench" table "$OUT"
