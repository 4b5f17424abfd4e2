#!/usr/bin/env bash
# Installs aiosmtpd (the SMTP server the tests of the reminders by e-mail start) into a virtual
# environment under ~/.cache, once, at the version pinned below; prints the path of its python.
# ./test.sh and .ci/run use it through CTG_AIOSMTPD.
set -euo pipefail
VERSION=1.4.6
VENV="$HOME/.cache/ctg-smtp-venv-$VERSION"
if ! "$VENV/bin/python" -c 'import aiosmtpd' >/dev/null 2>&1; then
  rm -rf "$VENV"
  python3 -m venv "$VENV" >&2 || { echo "ÉCHEC : impossible de créer l'environnement Python $VENV (python3 -m venv)" >&2; exit 1; }
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "aiosmtpd==$VERSION" >&2 \
    || { echo "ÉCHEC : impossible d'installer aiosmtpd==$VERSION dans $VENV" >&2; exit 1; }
fi
echo "$VENV/bin/python"
