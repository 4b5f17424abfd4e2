#!/usr/bin/env bash
# Issue 10, point 10: run bench/run.sh on the binaries built by bench/profils.sh, alternating the
# profiles (A, B, C, A, B, C, ...) on the same data so that background load hits them alike.
# SQLite only (BENCH_POSTGRES=0); sections 1 to 4 of run.sh. Each run.sh gets the profile's
# CARGO_PROFILE_RELEASE_* variables and target dir, so its `cargo run --release --example ...` reuses
# the examples that bench/profils.sh built with that profile instead of rebuilding them.
#
# Knobs: PROFILS="off thin16 fat1", ROUNDS=2, BENCH_DURATION=5s, BENCH_RUNS=3, PROFILE_CACHE=~/.cache.
# Writes bench/results/profils-banc.tsv (profile, round, run.sh results dir), then prints the summary
# of bench/profils-resume.py.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CACHE_DIR=${PROFILE_CACHE:-$HOME/.cache}
PROFILS=${PROFILS:-off thin16 fat1}
ROUNDS=${ROUNDS:-2}
export BENCH_POSTGRES=0 BENCH_DURATION=${BENCH_DURATION:-5s} BENCH_RUNS=${BENCH_RUNS:-3}
list=bench/results/profils-banc.tsv
: >"$list"
for round in $(seq 1 "$ROUNDS"); do
  for name in $PROFILS; do
    case $name in
      fat1) vars=(CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1) ;;
      thin16) vars=(CARGO_PROFILE_RELEASE_LTO=thin CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16) ;;
      off) vars=(CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16) ;;
      *) echo "profil inconnu : $name" >&2; exit 2 ;;
    esac
    target=$CACHE_DIR/ctg-profile-$name
    echo "== tour $round, profil $name ($(cut -d' ' -f1-3 /proc/loadavg))"
    log=$(mktemp)
    env "${vars[@]}" CARGO_TARGET_DIR="$target" BENCH_BIN="$target/release/ctg" ./bench/run.sh >"$log" 2>&1 \
      || { tail -n 30 "$log"; exit 1; }
    dir=$(sed -n 's/^Sorties brutes : //p' "$log" | tail -n1)
    mv "$log" "$dir/run.log"
    printf '%s\t%s\t%s\n' "$name" "$round" "$dir" >>"$list"
  done
done
python3 bench/profils-resume.py "$list"
