#!/usr/bin/env bash
# Issue 14: the « dossier de préparation » (COPIL pack) of a plan of 200 fiches and 1,000 indicators,
# made as a PDF by the server, timed beside the HTML page of the same meeting on the same server; the
# memory peak of the server (VmHWM) is reported. Objective: the PDF in under 1 s on this machine.
#
# Usage: bench/pdf.sh   (knobs: RUNS=10, CARGO_TARGET_DIR as for cargo)
# Builds `ctg` and the example `bench_plan` in release, loads the demo and the generated plan
# (crates/ctg-store/examples/bench_plan.rs) into a scratch SQLite database, schedules a meeting through
# the API, then requests each document RUNS times in a row (after one untimed request) with curl.
# Results: bench/results/pdf-<date>.txt (gitignored), and the summary on standard output.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS=${RUNS:-10}
TARGET=${CARGO_TARGET_DIR:-target}
mkdir -p bench/results bench/.cache
OUT=bench/results/pdf-$(date +%Y%m%d-%H%M%S).txt
WORK=$(mktemp -d bench/.cache/pdf.XXXXXX)
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"' EXIT

load1=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load1" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
  echo "attention : la machine est déjà occupée (charge moyenne sur 1 min : $load1 pour $(nproc) cœurs) ; les chiffres seront bruités." >&2
fi

cargo build --release --locked --bin ctg -p ctg >/dev/null
cargo build --release --locked -p ctg-store --example bench_plan >/dev/null
CTG=$TARGET/release/ctg
DB="sqlite://$WORK/pdf.db"
"$CTG" --database-url "$DB" demo >"$WORK/demo.log"
id=$(sed -n 's/.*convention n° \([0-9][0-9]*\).*/\1/p' "$WORK/demo.log" | tail -n1)
"$TARGET/release/examples/bench_plan" "$DB" --convention "$id" >"$WORK/plan.log"
"$CTG" --database-url "$DB" user add --nom Banc --email banc@ctg.fr --admin >/dev/null
token=$("$CTG" --database-url "$DB" user token --email banc@ctg.fr --nom banc --ecriture | tail -n1)

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$CTG" --database-url "$DB" serve --addr "127.0.0.1:$port" >"$WORK/serve.log" 2>&1 &
PID=$!
BASE=http://127.0.0.1:$port
for _ in $(seq 1 300); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz" || true)" = 200 ] && break
  sleep 0.1
done
auth=(-H "Authorization: Bearer $token")
body=$(curl -fsS "${auth[@]}" "$BASE/api/v1/conventions/$id/instances" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
meeting=$(curl -fsS "${auth[@]}" -H 'Content-Type: application/json' \
  -d '{"date":"2027-03-12","debut":"14:00","fin":"16:00","lieu":"Béthune"}' \
  "$BASE/api/v1/conventions/$id/instances/$body/seances" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

time_of() { # URL: RUNS timings in seconds, one per line, after one untimed request
  curl -fsS "${auth[@]}" -o /dev/null "$1"
  for _ in $(seq 1 "$RUNS"); do
    curl -fsS "${auth[@]}" -o "$WORK/doc" -w '%{time_total}\n' "$1"
  done
}
summary() { # NAME: median and max of the timings on standard input
  sort -n | awk -v name="$1" '{ t[NR] = $1 } END {
    m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
    printf "%-44s médiane %6.0f ms   max %6.0f ms   (%d requêtes)\n", name, m * 1000, t[NR] * 1000, NR }'
}
{
  echo "machine : $(nproc) cœurs, $(awk '/MemTotal/ { printf "%.0f Gio", $2 / 1048576 }' /proc/meminfo) ; commit $(git rev-parse --short HEAD) ; $(date -Iseconds)"
  echo "plan : $(grep -m1 '^Fiches action' "$WORK/plan.log") ; $(grep -m1 '^Valeurs des indicateurs' "$WORK/plan.log")"
  time_of "$BASE/conventions/$id/seances/$meeting" | summary "page HTML de la séance"
  time_of "$BASE/conventions/$id/seances/$meeting/dossier.pdf" | summary "dossier de préparation (PDF)"
  echo "taille du PDF : $(stat -c %s "$WORK/doc") octets, $(pdfinfo "$WORK/doc" 2>/dev/null | awk '/^Pages:/ { print $2 }') pages"
  echo "pic de mémoire du serveur (VmHWM) : $(awk '/VmHWM/ { printf "%.0f Mio", $2 / 1024 }' "/proc/$PID/status")"
} | tee "$OUT"
