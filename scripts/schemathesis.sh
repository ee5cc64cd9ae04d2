#!/usr/bin/env bash
# Fuzzes every REST route of a running reuse-chat against its own OpenAPI document: starts the
# given binary (default target/debug/reuse-chat) on a free loopback port with a fresh data
# directory, runs `schemathesis run` on http://127.0.0.1:PORT/openapi.json with the checks
# below (no 5xx, every status, content type and body as documented), then stops the server.
# A few thousand requests; about a minute. SCHEMATHESIS_MAX_EXAMPLES changes the depth.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/debug/reuse-chat}
MAX_EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-300}

command -v schemathesis >/dev/null || {
  echo "error: schemathesis is not installed (python3 -m pip install 'schemathesis>=4.32,<5')" >&2
  exit 1
}
[ -x "$BIN" ] || { echo "error: $BIN is not built (cargo build -p reuse-chat)" >&2; exit 1; }

WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The marketplace's token (sent with every request: the user routes go by X-Auth-User) and a
# VAPID key, so the listing's and the push subscriptions' handlers are reached, not refused.
SERVICE_TOKEN=schemathesis-service-token-0123
"$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" --rate-limits off --log warn \
  --service-token "$SERVICE_TOKEN" \
  --vapid-private-key crates/server/tests/fixtures/vapid-test-key.pem >"$WORK/server.log" 2>&1 &
SERVER=$!
stop() {
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  rm -rf "$WORK"
}
trap stop EXIT

for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/server.log" >&2; echo "error: the server did not start" >&2; exit 1; }
  sleep 0.1
done

# One worker: concurrent workers trip a CPython 3.11 bug inside hypothesis (an AST recursion
# depth mismatch), reported as a schemathesis runtime error.
# Run from the temporary directory: schemathesis keeps a cache in the working directory.
status=0
(cd "$WORK" && timeout 600 schemathesis run "http://127.0.0.1:$PORT/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --header 'X-Auth-User: alice' \
  --header "Authorization: Bearer $SERVICE_TOKEN" \
  --max-examples "$MAX_EXAMPLES" \
  --workers 1 \
  --generation-database none \
  --no-color) || status=$?

if grep -E ' (ERROR|WARN) ' "$WORK/server.log" | grep -v -e "auth mode 'header'" -e 'no --smtp' >&2; then
  echo "error: the server logged warnings or errors during the run (above)" >&2
  status=1
fi
exit "$status"
