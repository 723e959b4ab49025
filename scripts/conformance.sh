#!/usr/bin/env bash
# RFC 6455 conformance of gifchat's socket layer: Autobahn TestSuite's
# fuzzing client against the echo build (backend/examples/ws_echo.rs), which
# reads and writes frames with the same code as /api/ws.
#
# Autobahn TestSuite runs on Python 2 only; it is installed once under
# .conformance/ (git-ignored), which also gets the reports. Fails when any
# case of 1-7 or 10 is FAILED or WRONG CODE.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/.conformance
CARGO=${CARGO:-cargo}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
export PYTHONUSERBASE=$OUT/py
mkdir -p "$OUT"

PY2=""
if command -v pyenv >/dev/null && [ -x "$(pyenv root)/versions/2.7.18/bin/python" ]; then
  PY2="$(pyenv root)/versions/2.7.18/bin/python"
elif command -v python2 >/dev/null; then
  PY2=$(command -v python2)
else
  echo "conformance: needs Python 2.7 (pyenv's 2.7.18 or python2) for Autobahn TestSuite" >&2
  exit 1
fi
if [ ! -x "$PYTHONUSERBASE/bin/wstest" ]; then
  echo "installing Autobahn TestSuite under $PYTHONUSERBASE"
  "$PY2" -m pip install --quiet --user autobahntestsuite==25.10.1
fi

"$CARGO" build -q -p gifchat --example ws_echo
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PORT=$PORT "$TARGET_DIR/debug/examples/ws_echo" >"$OUT/echo.log" 2>&1 &
ECHO_PID=$!
trap 'kill $ECHO_PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  sleep 0.1
done

rm -rf "$OUT/reports"
cat >"$OUT/spec.json" <<EOF
{
  "outdir": "$OUT/reports",
  "servers": [{"agent": "gifchat", "url": "ws://127.0.0.1:$PORT/"}],
  "cases": ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "10.*"],
  "exclude-cases": [],
  "exclude-agent-cases": {}
}
EOF
(cd "$OUT" && "$PYTHONUSERBASE/bin/wstest" -m fuzzingclient -s spec.json >"$OUT/wstest.log" 2>&1) || {
  tail -20 "$OUT/wstest.log" >&2
  exit 1
}

python3 - "$OUT/reports/index.json" <<'EOF'
import collections, json, sys

cases = json.load(open(sys.argv[1]))["gifchat"]
by_behavior = collections.Counter(c["behavior"] for c in cases.values())
by_close = collections.Counter(c["behaviorClose"] for c in cases.values())
print(f"Autobahn TestSuite fuzzingclient, cases 1-7 and 10: {len(cases)} cases")
print("  behaviour:", ", ".join(f"{k} {v}" for k, v in sorted(by_behavior.items())))
print("  close behaviour:", ", ".join(f"{k} {v}" for k, v in sorted(by_close.items())))
bad = sorted(
    (case, c["behavior"], c["behaviorClose"])
    for case, c in cases.items()
    if {"FAILED", "WRONG CODE"} & {c["behavior"], c["behaviorClose"]}
)
for case, behavior, close in bad:
    print(f"  {case}: {behavior} (close: {close})")
print(f"report: {sys.argv[1].rsplit('/', 1)[0]}/index.html")
sys.exit(1 if bad else 0)
EOF
