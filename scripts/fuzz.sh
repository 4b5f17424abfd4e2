#!/usr/bin/env bash
# Fuzzing (cargo fuzz, libFuzzer, AddressSanitizer) of every reader of outside bytes:
#
#   decoupage  the decoupage JSON (communes, EPCI)            ctg_import::decoupage::parse
#   tabular    the table reader (CSV, XLSX, ODS)              ctg_import::tabular::Table
#   plan       the plan workbook (fiches, means, indicators)  ctg_import::plan::parse
#   contours   the GeoJSON contours                           ctg_import::contours::parse
#   imports    populations, conventions, diagnostic, facilities, funding (ctg_import::*::parse)
#   documents  document type detection and name cleaning     ctg_domain::documents
#   web        the bodies (forms, JSON) of every writing route, through ctg_web::router, as an
#              administrator, on a SQLite database holding the demo; a 500 answer is a finding
#
# Usage: scripts/fuzz.sh [minutes] [target…]
#   minutes  per target (default 10; decimals allowed, e.g. 2.5); every target when none is named.
#
# cargo-fuzz is installed (cargo install cargo-fuzz --locked) when `cargo fuzz` is missing; the
# nightly toolchain is needed (rustup toolchain install nightly). The seeds are in fuzz/corpus/<target>/
# (kept in the repository, never written to); what libFuzzer finds goes to a working corpus under
# $CTG_FUZZ_DIR (default ~/.cache/ctg-fuzz), kept from one run to the next, and crashing inputs to
# $CTG_FUZZ_DIR/artifacts/<target>/. Builds go to $CARGO_TARGET_DIR (default ~/.cache/ctg-fuzz-target).
# Replay a crash: cargo +nightly fuzz run --fuzz-dir fuzz [--features web] <target> <file>.
#
# Prints, per target, the minutes run, the executions (and per second) and whether a crash was
# found; exits non-zero when any target crashed or did not build.
set -uo pipefail
cd "$(dirname "$0")/.."

ALL_TARGETS=(decoupage tabular plan contours imports documents web)
MINUTES="${1:-10}"
shift $(( $# > 0 ? 1 : 0 ))
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL_TARGETS[@]}")
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ctg-fuzz-target}"
WORK="${CTG_FUZZ_DIR:-$HOME/.cache/ctg-fuzz}"

say() { printf '%s\n' "$*" >&2; }

if ! [[ "$MINUTES" =~ ^[0-9]+([.][0-9]+)?$ ]]; then
  say "Usage : scripts/fuzz.sh [minutes] [cible…] ; « $MINUTES » n'est pas un nombre de minutes"
  exit 2
fi
SECONDS_PER_TARGET="$(awk -v m="$MINUTES" 'BEGIN { s = int(m * 60); print (s < 1 ? 1 : s) }')"
for t in "${TARGETS[@]}"; do
  if ! printf '%s\n' "${ALL_TARGETS[@]}" | grep -qx "$t"; then
    say "Cible inconnue : « $t » (cibles : ${ALL_TARGETS[*]})"
    exit 2
  fi
done

# ---- tools ---------------------------------------------------------------------------------------
if ! rustup toolchain list | grep -q '^nightly'; then
  say "ÉCHEC : la chaîne nightly de Rust manque (rustup toolchain install nightly)"
  exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  say "cargo-fuzz manque : installation (cargo install cargo-fuzz --locked), quelques minutes…"
  cargo install cargo-fuzz --locked || { say "ÉCHEC : installation de cargo-fuzz impossible"; exit 1; }
fi

features_of() { [ "$1" = web ] && echo "--features=web"; }

# ---- runs ----------------------------------------------------------------------------------------
declare -A RESULT EXECS RATE RAN
status=0
for t in "${TARGETS[@]}"; do
  say ""
  say "== $t : compilation"
  # shellcheck disable=SC2046
  if ! cargo +nightly fuzz build --fuzz-dir fuzz $(features_of "$t") "$t"; then
    RESULT[$t]="ÉCHEC DE COMPILATION"; RAN[$t]=0; status=1
    continue
  fi
  corpus="$WORK/corpus/$t"
  artifacts="$WORK/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  log="$WORK/$t.log"
  before="$(find "$artifacts" -type f | wc -l)"
  say "== $t : $MINUTES min (journal : $log)"
  start="$(date +%s)"
  # The working corpus first: libFuzzer adds to the first directory only, never to the seeds.
  # shellcheck disable=SC2046
  cargo +nightly fuzz run --fuzz-dir fuzz $(features_of "$t") "$t" "$corpus" "fuzz/corpus/$t" -- \
    -max_total_time="$SECONDS_PER_TARGET" -timeout=30 -rss_limit_mb=4096 -max_len=65536 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  end="$(date +%s)"
  RAN[$t]="$(awk -v s=$((end - start)) 'BEGIN { printf "%.1f", s / 60 }')"
  EXECS[$t]="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  RATE[$t]="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  after="$(find "$artifacts" -type f | wc -l)"
  if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then
    newest="$(ls -t "$artifacts" 2>/dev/null | head -1)"
    RESULT[$t]="PLANTAGE : $artifacts/$newest"
    status=1
    grep -m1 -E 'panicked at|ERROR: AddressSanitizer|ERROR: libFuzzer|SUMMARY' "$log" | sed 's/^/   /' >&2
  else
    RESULT[$t]="aucun plantage"
  fi
  say "== $t : ${RESULT[$t]}"
done

# ---- summary -------------------------------------------------------------------------------------
say ""
printf '%-10s  %8s  %12s  %8s  %s\n' "cible" "minutes" "exécutions" "exéc/s" "résultat"
for t in "${TARGETS[@]}"; do
  printf '%-10s  %8s  %12s  %8s  %s\n' "$t" "${RAN[$t]:-0}" "${EXECS[$t]:--}" "${RATE[$t]:--}" "${RESULT[$t]}"
done
exit "$status"
