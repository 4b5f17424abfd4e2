#!/usr/bin/env bash
# Contract tests of the JSON API (/api/v1), against a real server:
#
# 1. openapi-spec-validator checks that the document served at /api/v1/openapi.json is valid OpenAPI;
# 2. schemathesis sends generated requests, valid and invalid, to every operation it describes, with
#    an API token of an administrator allowed to write, and checks every answer: no server error, a
#    status code and a content type that the document lists, a body that matches its schema, and no
#    request that breaks the schema accepted.
#
# The server is built (debug), started on a temporary SQLite database holding the demo, on a free
# port of the loopback interface, and stopped at the end. Both tools are installed with pip, at the
# versions pinned in scripts/contract-requirements.txt (with all their dependencies), into a virtual
# environment under ~/.cache on first use; a tool that cannot be installed fails the run. Any
# failure exits non-zero.
#
# Settings (environment): CTG_CONTRACT_EXAMPLES, the number of generated cases per operation and
# phase (default 30); CTG_CONTRACT_SEED, the seed of the generation (default 20260101);
# CARGO_TARGET_DIR as for cargo; CTG_CONTRACT_KEEP=1 writes the reports of schemathesis (JUnit, and
# a cassette of every request and response) into target/contract/.
set -euo pipefail
cd "$(dirname "$0")/.."

REQUIREMENTS=scripts/contract-requirements.txt
VERSIONS="$(grep -E '^(schemathesis|openapi-spec-validator)==' "$REQUIREMENTS" | sort | tr '\n' ' ')"
# One environment per set of pinned versions: changing the file installs a new one.
VENV="$HOME/.cache/ctg-contract-venv-$(sha256sum "$REQUIREMENTS" | cut -c1-12)"
EXAMPLES="${CTG_CONTRACT_EXAMPLES:-30}"
SEED="${CTG_CONTRACT_SEED:-20260101}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ctg-target}"

say() { printf '%s\n' "$*" >&2; }

# ---- tools ---------------------------------------------------------------------------------------
tools_ok() {
  [ -f "$VENV/.installed" ] && [ -x "$VENV/bin/schemathesis" ] && [ -x "$VENV/bin/openapi-spec-validator" ]
}
if ! tools_ok; then
  say "Installation de $VERSIONS(et de leurs dépendances, versions fixées) dans $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV" || { say "ÉCHEC : impossible de créer l'environnement Python $VENV (python3 -m venv)"; exit 1; }
  if ! "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS"; then
    rm -rf "$VENV"
    say "ÉCHEC : impossible d'installer $VERSIONS avec pip"
    exit 1
  fi
  touch "$VENV/.installed"
fi
PY="$VENV/bin/python"

# ---- server --------------------------------------------------------------------------------------
cargo build --locked --quiet -p ctg --bin ctg
CTG="$CARGO_TARGET_DIR/debug/ctg"

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

export CTG_DATABASE_URL="sqlite://$work/ctg.db"
"$CTG" demo >/dev/null
"$CTG" user add --nom "Contrat de l'API" --email contrat@ctg.local --admin >/dev/null
token="$("$CTG" user token --email contrat@ctg.local --nom "tests de contrat" --ecriture | tail -n 1)"
case "$token" in ctg_*) ;; *) say "ÉCHEC : aucun jeton d'API créé"; exit 1 ;; esac

# Port 0: the system picks a free port, which the server prints.
RUST_LOG="${RUST_LOG:-warn}" "$CTG" serve --addr 127.0.0.1:0 >"$work/serveur.log" 2>&1 &
server_pid=$!
base=""
for _ in $(seq 1 100); do
  base="$(sed -n 's|^Plateforme CTG disponible sur \(http://127\.0\.0\.1:[0-9]*\)/.*|\1|p' "$work/serveur.log")"
  [ -n "$base" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$base" ]; then
  say "ÉCHEC : le serveur n'a pas démarré"
  cat "$work/serveur.log" >&2
  exit 1
fi
say "Serveur : $base (base $CTG_DATABASE_URL)"

# ---- 1. the document is valid OpenAPI ------------------------------------------------------------
"$PY" - "$base/api/v1/openapi.json" "$work/openapi.json" <<'EOF'
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=30) as r, open(sys.argv[2], "wb") as f:
    f.write(r.read())
EOF
say "$("$VENV/bin/openapi-spec-validator" --version 2>&1 | head -n 1) : /api/v1/openapi.json"
"$VENV/bin/openapi-spec-validator" --validation-errors all "$work/openapi.json"

# ---- 2. the server answers as the document says ---------------------------------------------------
# What the demo lacks is added (a fiche, a meeting…), and the ids of the paths are drawn from the
# real ones most of the time, so that requests reach the reading of their bodies.
say "Préparation des données de la convention n° 2"
"$PY" scripts/contract_setup.py "$base" "$token" 2 "$work/schemathesis.toml"
say "$("$VENV/bin/schemathesis" --version 2>&1 | head -n 1) : $EXAMPLES cas par opération, graine $SEED"
reports=()
if [ "${CTG_CONTRACT_KEEP:-0}" = 1 ]; then
  mkdir -p target/contract
  reports=(--report junit,vcr --report-dir "$PWD/target/contract")
fi
status=0
# Run from the temporary directory: schemathesis keeps a cache of its findings in the current one.
(cd "$work" && "$VENV/bin/schemathesis" --config-file "$work/schemathesis.toml" run "$base/api/v1/openapi.json" \
  --url "$base" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection \
  --max-examples "$EXAMPLES" \
  --seed "$SEED" \
  --generation-database none \
  --workers 1 \
  --request-timeout 30 \
  --no-color \
  ${reports[@]+"${reports[@]}"}) || status=$?
if [ "$status" -ne 0 ]; then
  say "ÉCHEC : schemathesis a trouvé des réponses contraires au document (code $status)"
  say "Journal du serveur :"
  tail -n 50 "$work/serveur.log" >&2
fi
exit "$status"
