#!/usr/bin/env bash
# Benchmark of issue 16, point 5 (see docs/PERFORMANCE.md, « Échelle nationale »): PostgreSQL filled
# with every EPCI of France and BENCH_CONVENTIONS conventions (1,200 by default) by the example
# crates/ctg-store/examples/bench_national.rs (plans of 30 to 200 fiches, indicators over 2026-2030,
# bodies, meetings, decisions, a coordinator each), then one `ctg serve` measured with wrk, 32
# connections, on: the portfolio of a CAF adviser who follows BENCH_PORTEFEUILLE conventions (30), a
# convention page, its territory and diagnostic pages, its plan tree, a fiche, the API list and a write
# (an indicator value), each beside /healthz of the same server. Target: p99 under 50 ms and no error.
# The database size and the memory peak of the server are reported.
#
# Knobs: BENCH_CONVENTIONS (1200), BENCH_PORTEFEUILLE (30), BENCH_DURATION (wrk duration, 10s),
# BENCH_BIN and BENCH_GENERATOR (binaries built elsewhere: no build), BENCH_NEUF=1 (regenerate the
# database even when a complete one of the same size is there), BENCH_CAS (the cases to run, by name,
# separated by commas: `ecriture,fiche`; all of them by default).
# Raw outputs go to bench/results/national-<date-heure>/; the summary is printed at the end. The exit
# status is non-zero only when the benchmark itself fails, not when a target is missed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

CONVENTIONS=${BENCH_CONVENTIONS:-1200}
PORTFOLIO=${BENCH_PORTEFEUILLE:-30}
DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=32
THREADS=2
VERSION=6.0.0
CACHE=$ROOT/bench/.cache/decoupage-administratif-$VERSION
OUT=$ROOT/bench/results/national-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"

say() { printf '\n== %s\n' "$*"; }
die() {
  printf 'erreur : %s\n' "$*" >&2
  exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

if ! have wrk; then
  [ "$(id -u)" = 0 ] || die "wrk est introuvable (apt-get install wrk)"
  apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi

# The territory files, fetched once with `npm pack` (as bench/run.sh does).
if [ ! -s "$CACHE/communes.json" ] || [ ! -s "$CACHE/epci.json" ]; then
  say "Téléchargement de @etalab/decoupage-administratif@$VERSION (npm pack)"
  work=$(mktemp -d)
  (cd "$work" && npm pack --silent "@etalab/decoupage-administratif@$VERSION" >/dev/null)
  tar -xzf "$work"/*.tgz -C "$work" package/data/communes.json package/data/epci.json
  mkdir -p "$CACHE"
  mv "$work/package/data/communes.json" "$work/package/data/epci.json" "$CACHE/"
  rm -rf "$work"
fi

if [ -n "${BENCH_BIN:-}" ] && [ -n "${BENCH_GENERATOR:-}" ]; then
  BIN=$(readlink -f "$BENCH_BIN")
  GENERATOR=$(readlink -f "$BENCH_GENERATOR")
else
  say "Compilation (release)"
  cargo build --release --bin ctg
  cargo build --release -p ctg-store --example bench_national
  TARGET_DIR=$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
  BIN=$TARGET_DIR/release/ctg
  GENERATOR=$TARGET_DIR/release/examples/bench_national
fi
[ -x "$BIN" ] && [ -x "$GENERATOR" ] || die "binaires introuvables : $BIN, $GENERATOR"

say "PostgreSQL"
PG_ADMIN=$(./scripts/start-postgres.sh | tail -n1)
PG_BASE=${PG_ADMIN%/*}
DB=ctg_national_${CONVENTIONS}_${PORTFOLIO}
URL=$PG_BASE/$DB
TOKENS=$ROOT/bench/.cache/$DB
mkdir -p "$TOKENS"
exists=$(psql "$PG_ADMIN" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" || true)
if [ "${BENCH_NEUF:-0}" = 1 ] || [ "$exists" != 1 ] || [ ! -s "$TOKENS/lecture.jeton" ]; then
  say "Génération : $CONVENTIONS conventions ($DB)"
  rm -f "$TOKENS/lecture.jeton" "$TOKENS/lecture.ecriture"
  psql -q -v ON_ERROR_STOP=1 "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
  "$BIN" --database-url "$URL" migrate >/dev/null
  # The token file is written last: its presence marks a complete database.
  /usr/bin/time -v "$GENERATOR" "$URL" --decoupage "$CACHE" --conventions "$CONVENTIONS" \
    --portefeuille "$PORTFOLIO" --jeton "$TOKENS/lecture.jeton" 2>"$OUT/generation-time.txt" | tee "$OUT/generation.txt" \
    || { head -c 2000 "$OUT/generation-time.txt" >&2; die "la génération a échoué"; }
else
  echo "Base $DB déjà générée (BENCH_NEUF=1 pour la refaire)"
  "$BIN" --database-url "$URL" migrate >/dev/null
fi
# The values that earlier runs of the write case added (all on one indicator of convention 1) would make
# its plan heavier at each run: every run starts from the generated data. Their audit entries stay.
# Vacuumed at once, so that autovacuum does not do it during the measures.
psql -q -v ON_ERROR_STOP=1 "$URL" -c "DELETE FROM indicator_value WHERE source = 'banc d essai'" \
  -c "VACUUM ANALYZE indicator_value" -c "VACUUM ANALYZE audit_event" -c "VACUUM ANALYZE convention_revision" >/dev/null
TOKEN=$(cat "$TOKENS/lecture.jeton")
WRITE_TOKEN=$(cat "$TOKENS/lecture.ecriture")

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
"$BIN" --database-url "$URL" serve --addr "127.0.0.1:$port" >"$OUT/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
base="http://127.0.0.1:$port"
for i in $(seq 1 300); do
  kill -0 "$pid" 2>/dev/null || { cat "$OUT/serve.log" >&2; die "le serveur s'est arrêté"; }
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/healthz" || true)" = 200 ] && break
  [ "$i" = 300 ] && die "le serveur ne répond pas sur $base/healthz après 30 s"
  sleep 0.1
done

auth=(-H "Authorization: Bearer $TOKEN")
# The first convention (in the adviser's portfolio, and the one whose coordinator writes), one of its
# fiches and one of its quantitative indicators.
ID=1
read -r FICHE INDICATOR < <(curl -fsS "${auth[@]}" "$base/api/v1/conventions/$ID/plan" | python3 -c '
import json, sys
plan = json.load(sys.stdin)
fiches = plan.get("fiches", [])
inds = [i for i in plan.get("indicateurs", []) if "quantit" in json.dumps(i["definition"]).lower()]
print(fiches[0]["id"] if fiches else "", inds[0]["id"] if inds else "")')
[ -n "$ID" ] && [ -n "$FICHE" ] || die "portefeuille ou plan vide"
lines=$(curl -fsS "${auth[@]}" "$base/api/v1/portefeuille?organisation=" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
echo "Serveur $base ; portefeuille de $lines conventions ; convention n° $ID, fiche n° $FICHE, indicateur n° ${INDICATOR:-?}"

cat >"$OUT/write.lua" <<EOF
wrk.method = "POST"
wrk.body = '{"periode": "2026", "valeur": 42, "source": "banc d essai"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $WRITE_TOKEN"
EOF

cases=(
  "portefeuille|/portefeuille?organisation="
  "portefeuille-api|/api/v1/portefeuille?organisation="
  "convention|/conventions/$ID"
  "territoire|/conventions/$ID/territoire"
  "diagnostic|/conventions/$ID/diagnostic"
  "plan|/conventions/$ID/plan"
  "fiche|/conventions/$ID/plan/fiches/$FICHE"
  "api-conventions|/api/v1/conventions"
)
run_wrk() { # NAME PATH [wrk args…]
  local name=$1 path=$2
  shift 2
  wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "$@" "$base$path" >/dev/null
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" "$base$path" >"$OUT/wrk-$name.txt"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$base/healthz" >"$OUT/wrk-$name-healthz.txt"
}
wanted() { [ -z "${BENCH_CAS:-}" ] || [[ ",$BENCH_CAS," == *",$1,"* ]]; }
for c in "${cases[@]}"; do
  name=${c%%|*}
  path=${c#*|}
  wanted "$name" || continue
  say "$name : $path"
  run_wrk "$name" "$path" "${auth[@]}"
done
if [ -n "${INDICATOR:-}" ] && wanted ecriture; then
  say "écriture : POST /api/v1/conventions/1/plan/indicateurs/$INDICATOR/valeurs"
  # The adviser reads only: the write is made with the token of the coordinator of that convention.
  run_wrk ecriture "/api/v1/conventions/1/plan/indicateurs/$INDICATOR/valeurs" -s "$OUT/write.lua"
fi

size=$(psql "$PG_ADMIN" -tAc "SELECT pg_size_pretty(pg_database_size('$DB'))")
rss=$(awk '/VmHWM/ {print $2 " " $3}' "/proc/$pid/status")
say "Résumé ($(date -u +%FT%TZ), commit $(git rev-parse --short HEAD), $(nproc) cœurs, charge : $(cut -d' ' -f1-3 /proc/loadavg))"
echo "Base : $size ; mémoire maximale du serveur : $rss"
python3 - "$OUT" <<'PY'
import pathlib, re, sys
out = pathlib.Path(sys.argv[1])
def read(path):
    text = path.read_text()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    def ms(label):
        m = re.search(rf"\s{label}%?\s+([\d.]+)(us|ms|s)\b", text)
        if not m:
            return float("nan")
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    return rps, ms("50"), ms("99"), errors
print(f"{'cas':<18} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'erreurs':>8}   healthz req/s, p99 ms   objectif")
for f in sorted(out.glob("wrk-*.txt")):
    if f.name.endswith("-healthz.txt"):
        continue
    name = f.name[4:-4]
    rps, p50, p99, err = read(f)
    h = read(out / f"wrk-{name}-healthz.txt")
    ok = "ATTEINT" if p99 < 50 and err == 0 else "MANQUÉ"
    print(f"{name:<18} {rps:>9.0f} {p50:>8.1f} {p99:>8.1f} {err:>8}   {h[0]:>9.0f}, {h[2]:>6.1f}   {ok}")
PY
echo "Sorties brutes : $OUT"
