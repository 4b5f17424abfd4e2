#!/usr/bin/env bash
# Issue 10, point 10: time a from-scratch release build of `ctg` (what `cargo run --release -- serve`
# compiles) under several release profiles, each in its own empty target dir, then build (untimed) the
# two bench examples of bench/run.sh with the same profile so that run.sh reuses them.
#
# The profiles are given to cargo as CARGO_PROFILE_RELEASE_* overrides, so Cargo.toml is not edited
# while measuring. Usage: bench/profils.sh [NAME...] (default: off thin16 fat1), with NAME among
#   fat1    lto = "fat",  codegen-units = 1   (the release profile before issue 10)
#   thin16  lto = "thin", codegen-units = 16
#   off     lto = "off",  codegen-units = 16 (cargo's default for release)
# Results: $PROFILE_RESULTS/profils-<NAME>.txt (default bench/results/, gitignored): uptime before and after, GNU time -v.
# Target dirs: $PROFILE_CACHE/ctg-profile-<NAME> (default ~/.cache), removed first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CACHE_DIR=${PROFILE_CACHE:-$HOME/.cache}
RESULTS=${PROFILE_RESULTS:-bench/results}
mkdir -p "$RESULTS"

profile_env() { # NAME: prints the env assignments of that profile
  case $1 in
    fat1) echo "CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1" ;;
    thin16) echo "CARGO_PROFILE_RELEASE_LTO=thin CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16" ;;
    off) echo "CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16" ;;
    *) echo "profil inconnu : $1" >&2; exit 2 ;;
  esac
}

cargo fetch --quiet # downloads are not part of the timed build
for name in "${@:-off thin16 fat1}"; do
  for n in $name; do
    out=$RESULTS/profils-$n.txt
    target=$CACHE_DIR/ctg-profile-$n
    rm -rf "$target"
    read -r -a vars <<<"$(profile_env "$n")"
    {
      echo "profil: $n (${vars[*]})"
      echo "rustc: $(rustc --version)"
      echo "git: $(git rev-parse --short HEAD)"
      echo "uptime (avant): $(uptime)"
    } >"$out"
    env "${vars[@]}" CARGO_TARGET_DIR="$target" /usr/bin/time -v \
      cargo build --release --locked --bin ctg >>"$out" 2>&1
    echo "uptime (après): $(uptime)" >>"$out"
    ls -l "$target/release/ctg" >>"$out"
    # Untimed: the examples of bench/run.sh sections 3 and 4, same profile, same target dir.
    env "${vars[@]}" CARGO_TARGET_DIR="$target" \
      cargo build --release --locked -p ctg-store --example bench_couverture --example bench_plan \
      >"$RESULTS/profils-$n-examples.log" 2>&1
    echo "examples: ok ($(date -Iseconds))" >>"$out"
  done
done
