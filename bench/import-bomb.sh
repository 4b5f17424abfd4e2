#!/usr/bin/env bash
# Issue 11, point 4 (see docs/PERFORMANCE.md, « Import borné ») : a small workbook of millions of
# rows (default 4,000,000 rows: about 1.2 Mo in XLSX, a few Mo in ODS) is read by the plan import
# (ctg_import::plan::parse, through crates/ctg-import/examples/import_plan_file.rs), under
# /usr/bin/time -v: peak memory (max RSS) and duration are printed. Targets: a refusal, a peak under
# 200 Mo, under 5 s.
#
# Knobs (environment): BOMB_FORMAT (xlsx or ods, default xlsx), BOMB_ROWS (default 4000000),
# BOMB_PROFILE (dev or release, default dev), BOMB_FILE (where the workbook is written, default a
# temporary file removed at the end).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROWS=${BOMB_ROWS:-4000000}
PROFILE=${BOMB_PROFILE:-dev}
FORMAT=${BOMB_FORMAT:-xlsx}
case "$FORMAT" in xlsx|ods) ;; *) echo "BOMB_FORMAT : xlsx ou ods, pas « $FORMAT »" >&2; exit 2 ;; esac
FILE=${BOMB_FILE:-$(mktemp --suffix=".$FORMAT")}
trap '[ -z "${BOMB_FILE:-}" ] && rm -f "$FILE"' EXIT

python3 "bench/make-$FORMAT-bomb.py" "$FILE" "$ROWS"
echo "classeur : $FILE, $(stat -c %s "$FILE") octets, $ROWS lignes déclarées"

cargo build --quiet -p ctg-import --profile "$PROFILE" --example import_plan_file
DIR=$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")
BIN="${CARGO_TARGET_DIR:-target}/$DIR/examples/import_plan_file"

REPORT=$(mktemp)
/usr/bin/time -v "$BIN" "$FILE" 2>"$REPORT" | sed 's/^/  /'
PEAK_KB=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$REPORT")
WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$REPORT")
rm -f "$REPORT"
echo "pic mémoire (max RSS) : $((PEAK_KB / 1024)) Mio ; durée totale du processus : $WALL"
[ "$PEAK_KB" -lt $((200 * 1024)) ] && echo "PASS pic < 200 Mio" || echo "FAIL pic >= 200 Mio"
