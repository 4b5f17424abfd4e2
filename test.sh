#!/usr/bin/env bash
# Runs the whole test suite of the CTG platform.
#
# - PostgreSQL: the server named by CTG_TEST_POSTGRES_URL, otherwise the one at 127.0.0.1:5432 when it
#   answers; without one, the PostgreSQL suite is skipped and said so.
# - Chromium: chromedriver and chromium on the PATH (Debian packages chromium-driver and chromium), or
#   named by CTG_CHROMEDRIVER / CTG_CHROMIUM; without them, the browser suite is skipped and said so.
# - PDF: pdftotext, pdfinfo and pdftoppm (Debian package poppler-utils) read the documents back;
#   without them, the PDF suite is skipped and said so.
# - SMTP: the reminders by e-mail are sent to a real SMTP server (aiosmtpd) that the tests start with
#   the Python named by CTG_AIOSMTPD, otherwise the one ./scripts/smtp-venv.sh installed; without it,
#   the SMTP suite is skipped and said so.
# - CTG_REQUIRE_ALL=1 turns a missing suite into an error (CI sets it).
set -euo pipefail
cd "$(dirname "$0")"

skipped=()
skip_patterns=()

if [ -z "${CTG_TEST_POSTGRES_URL:-}" ]; then
  if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then
    export CTG_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:5432/postgres"
  else
    skipped+=("PostgreSQL : aucun serveur ne répond sur 127.0.0.1:5432 et CTG_TEST_POSTGRES_URL n'est pas défini (exemple : CTG_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres ./test.sh, ou ./scripts/start-postgres.sh pour un serveur jetable)")
    skip_patterns+=("postgres")
  fi
fi

driver="${CTG_CHROMEDRIVER:-$(command -v chromedriver || true)}"
browser="${CTG_CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}"
if [ -z "$driver" ] || [ -z "$browser" ]; then
  skipped+=("navigateur (Chromium) : chromedriver ou chromium est introuvable (apt-get install chromium chromium-driver)")
  skip_patterns+=("browser")
fi

if ! command -v pdftotext >/dev/null 2>&1 || ! command -v pdfinfo >/dev/null 2>&1 || ! command -v pdftoppm >/dev/null 2>&1; then
  skipped+=("documents PDF : pdftotext, pdfinfo ou pdftoppm est introuvable (apt-get install poppler-utils)")
  skip_patterns+=("pdf_documents")
fi

if [ -z "${CTG_AIOSMTPD:-}" ] && [ -x "$HOME/.cache/ctg-smtp-venv-1.4.6/bin/python" ]; then
  export CTG_AIOSMTPD="$HOME/.cache/ctg-smtp-venv-1.4.6/bin/python"
fi
if [ -z "${CTG_AIOSMTPD:-}" ] || ! "$CTG_AIOSMTPD" -c 'import aiosmtpd' >/dev/null 2>&1; then
  skipped+=("courriels (SMTP) : aiosmtpd est introuvable (./scripts/smtp-venv.sh l'installe, puis CTG_AIOSMTPD=\$(./scripts/smtp-venv.sh) ./test.sh)")
  skip_patterns+=("smtp")
fi

if [ "${#skipped[@]}" -gt 0 ] && [ "${CTG_REQUIRE_ALL:-0}" = 1 ]; then
  echo "CTG_REQUIRE_ALL=1 : toutes les suites sont exigées, mais il manque :" >&2
  printf '  - %s\n' "${skipped[@]}" >&2
  exit 1
fi

if cargo nextest --version >/dev/null 2>&1; then
  filter="all()"
  for p in "${skip_patterns[@]+"${skip_patterns[@]}"}"; do filter="$filter - test(/$p/)"; done
  status=0
  cargo nextest run --workspace --no-fail-fast -E "$filter" || status=$?
else
  args=()
  for p in "${skip_patterns[@]+"${skip_patterns[@]}"}"; do args+=(--skip "$p"); done
  status=0
  cargo test --workspace --no-fail-fast -- "${args[@]+"${args[@]}"}" || status=$?
fi

if [ "${#skipped[@]}" -gt 0 ]; then
  echo
  echo "Suites ignorées :"
  printf '  - %s\n' "${skipped[@]}"
fi
exit "$status"
