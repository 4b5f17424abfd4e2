#!/usr/bin/env bash
# Issue 10, point 10, lighter than bench/profils-banc.sh: sections 2 and 4 of bench/run.sh (SQLite)
# against the `ctg` binaries of bench/profils.sh, alternated (A, B, C, A, B, C...) on copies of the
# same two databases, prepared once; plus section 3 (bench_couverture) for each profile whose example
# is built. Needs only the `off` examples to prepare the plan database (its data do not depend on the
# profile: only the server that answers is measured).
# Knobs: PROFILS="off thin16 fat1", ROUNDS=2, DURATION=5s, COUV_RUNS=3, PROFILE_CACHE=~/.cache.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CACHE_DIR=${PROFILE_CACHE:-$HOME/.cache}
PROFILS=${PROFILS:-off thin16 fat1}
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-5s}
COUV_RUNS=${COUV_RUNS:-3}
DATA=bench/.cache/decoupage-administratif-6.0.0
OUT=bench/results/profils-http-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
WORK=$(mktemp -d bench/.cache/profils.XXXXXX)
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"' EXIT
REF=$CACHE_DIR/ctg-profile-off/release
port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
serve() { # BIN DB: starts the server, sets PID and BASE
  local p i
  p=$(port)
  "$1" --database-url "sqlite://$2" serve --addr "127.0.0.1:$p" >>"$OUT/serve.log" 2>&1 &
  PID=$!
  BASE=http://127.0.0.1:$p
  for i in $(seq 1 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz" || true)" = 200 ] && return 0
    sleep 0.1
  done
  echo "serveur muet" >&2; exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }

# The two databases, once, with the reference binary.
"$REF/ctg" --database-url "sqlite://$WORK/territoire.db" import territoire --communes "$DATA/communes.json" \
  --epci "$DATA/epci.json" --millesime 2022 >"$OUT/prep.log" 2>&1
serve "$REF/ctg" "$WORK/territoire.db" # loads the demo
id=$(curl -fsS "$BASE/api/v1/conventions" | python3 -c '
import json, sys
items = json.load(sys.stdin)
print(([c["id"] for c in items if c["debut"].startswith("2026")] or [c["id"] for c in items])[0])')
stop
"$REF/ctg" --database-url "sqlite://$WORK/plan.db" demo >"$OUT/plan-demo.log" 2>&1
plan_id=$(sed -n 's/.*convention n° \([0-9][0-9]*\).*/\1/p' "$OUT/plan-demo.log" | tail -n1)
"$REF/examples/bench_plan" "sqlite://$WORK/plan.db" --convention "$plan_id" >>"$OUT/prep.log" 2>&1
echo "territoire: /api/v1/conventions/$id/territoire ; plan: /conventions/$plan_id/plan" | tee "$OUT/paths.txt"

for round in $(seq 1 "$ROUNDS"); do
  for name in $PROFILS; do
    bin=$CACHE_DIR/ctg-profile-$name/release/ctg
    [ -x "$bin" ] || { echo "== tour $round, $name : binaire absent, sauté" | tee -a "$OUT/load.txt"; continue; }
    echo "== tour $round, $name, $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt"
    cp "$WORK/territoire.db" "$WORK/t.db"; cp "$WORK/plan.db" "$WORK/p.db"
    serve "$bin" "$WORK/t.db"
    for path in /healthz "/api/v1/conventions/$id/territoire"; do
      f=$OUT/$name-$round-$( [ "$path" = /healthz ] && echo healthz || echo territoire ).txt
      wrk -t2 -c32 -d2s "$BASE$path" >/dev/null
      wrk -t2 -c32 -d"$DURATION" --latency "$BASE$path" >"$f"
    done
    stop
    serve "$bin" "$WORK/p.db"
    wrk -t2 -c8 -d2s "$BASE/conventions/$plan_id/plan" >/dev/null
    wrk -t2 -c8 -d"$DURATION" --latency "$BASE/conventions/$plan_id/plan" >"$OUT/$name-$round-plan.txt"
    stop
    ex=$CACHE_DIR/ctg-profile-$name/release/examples/bench_couverture
    if [ -x "$ex" ]; then
      "$ex" "$DATA" --runs "$COUV_RUNS" >"$OUT/$name-$round-couverture.txt" 2>&1
    fi
  done
done
python3 bench/profils-http-resume.py "$OUT" $PROFILS
