#!/usr/bin/env bash
# Runs schemathesis against a live gifchat on a throwaway SQLite database,
# checking every response (no 5xx, and each one as openapi.yaml describes it).
# Usage: scripts/api-fuzz.sh [extra schemathesis arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${SCHEMATHESIS_VENV:-target/schemathesis-venv}
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'schemathesis>=4,<5'
fi

cargo build -q -p gifchat
data=$(mktemp -d)
port=${FUZZ_PORT:-18999}
DATA_DIR="$data" PORT=$port BIND_ADDR=127.0.0.1 RATE_LIMITS=off RUST_LOG=warn \
  target/debug/gifchat serve >"$data/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done

"$venv/bin/schemathesis" run openapi.yaml --url "http://127.0.0.1:$port" \
  --checks all --max-examples "${FUZZ_EXAMPLES:-100}" --no-color "$@"
