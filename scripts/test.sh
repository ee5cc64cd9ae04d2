#!/usr/bin/env bash
# The whole test suite, from a fresh clone: makes sure the backing services run, builds
# everything, runs every Rust test (unit, storage on SQLite/MariaDB/PostgreSQL, the integration
# suite over real HTTP and WebSockets once per database), the end-to-end test with @stomp/stompjs in
# Node, the web client's unit tests and bundle check, and the browser tests in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh

ensure_mariadb
ensure_postgres
ensure_redis
ensure_tansu
ensure_s3s_fs

# The mail tests run a real SMTP server: aiosmtpd, from PyPI.
python3 -c 'import aiosmtpd' 2>/dev/null || python3 -m pip install --quiet aiosmtpd || {
  echo "error: the mail tests need the aiosmtpd SMTP server (python3 -m pip install aiosmtpd), which could not be installed" >&2
  exit 1
}

# The API fuzzing step runs schemathesis (4.x: its CLI changed in 4.0), from PyPI.
schemathesis --version 2>/dev/null | grep -q 'version 4\.' \
  || python3 -m pip install --quiet 'schemathesis>=4.32,<5' || {
  echo "error: the API fuzzing step needs schemathesis 4 (python3 -m pip install 'schemathesis>=4.32,<5'), which could not be installed" >&2
  exit 1
}

command -v node >/dev/null || { echo "error: Node.js is required for the @stomp/stompjs end-to-end test, the web client's unit tests and the browser tests" >&2; exit 1; }

# The browser tests drive Debian's Chromium (playwright-core cannot download a browser here).
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  echo "installing Debian's chromium for the browser tests (apt-get, once)" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  { $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 \
    || { $sudo apt-get update -q >/dev/null 2>&1 \
         && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }; } || {
    echo "error: the browser tests need Chromium at $CHROMIUM (Debian's package chromium), which could not be installed" >&2
    exit 1
  }
fi
export CHROMIUM

echo "== web client: unit tests (Vitest), and the committed bundle is exactly what the sources build"
(
  cd web
  npm ci --no-audit --no-fund --loglevel=error
  npm test
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' EXIT
  REUSE_WEB_OUT_DIR="$out" npm run build >/dev/null
  diff -r dist "$out" || {
    echo "error: web/dist is not what web/src builds: run 'cd web && npm ci && npm run build' and commit web/dist" >&2
    exit 1
  }
)

echo "== cargo fmt --check, cargo clippy (warnings are errors)"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo build"
cargo build --workspace --all-targets --locked

# (The outage, crash and cluster tests choose their databases themselves: crash.rs runs on all three.)
echo "== cargo test (integration suite on SQLite)"
cargo test --workspace --locked

echo "== the scam detector on its labelled corpus: recall and precision per kind (fails under 95% recall or over 1% of honest messages flagged)"
cargo test -p reuse-chat-core --locked --test safety_corpus -- --nocapture

# The API.md integration suite again, unchanged, on the two server databases.
for backend in mysql postgres; do
  echo "== integration suite on $backend"
  REUSE_CHAT_TEST_BACKEND=$backend cargo test -p reuse-chat --locked --test rest --test stomp --test jwt --test mail --test reads --test events --test photos --test safety --test listing --test notifications --test search
done

echo "== schemathesis: every REST route against the server's own /openapi.json"
scripts/schemathesis.sh target/debug/reuse-chat

echo "== end-to-end with @stomp/stompjs"
(
  cd tests/e2e-node
  npm ci --no-audit --no-fund --loglevel=error
  REUSE_CHAT_BIN="$PWD/../../target/debug/reuse-chat" node --test
)

echo "== browser tests: the web client in headless Chromium, a buyer and a seller"
(
  cd tests/browser
  npm ci --no-audit --no-fund --loglevel=error
  REUSE_CHAT_BIN="$PWD/../../target/debug/reuse-chat" node --test --test-concurrency=1
)
