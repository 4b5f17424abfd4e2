#!/usr/bin/env bash
# Makes a PostgreSQL server answer for the test suite and prints its URL on the last line.
# Uses the server at 127.0.0.1:5432 when it answers; otherwise starts a throwaway cluster
# (initdb + pg_ctl, run as the `postgres` user since they refuse root) on 127.0.0.1:55432.
set -euo pipefail

if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "postgres://postgres@127.0.0.1:5432/postgres"
  exit 0
fi

bindir=""
for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && bindir="$d"; done
if [ -z "$bindir" ]; then
  command -v initdb >/dev/null && bindir="$(dirname "$(readlink -f "$(command -v initdb)")")"
fi
if [ -z "$bindir" ]; then
  echo "PostgreSQL est introuvable : installez le paquet Debian postgresql (apt-get install postgresql)." >&2
  exit 1
fi

port=55432
dir="${CTG_PG_DIR:-/tmp/ctg-postgres}"
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    # shellcheck disable=SC2068
    su postgres -s /bin/sh -c "$*"
  else
    sh -c "$*"
  fi
}
if pg_isready -q -h 127.0.0.1 -p "$port" 2>/dev/null; then
  echo "postgres://postgres@127.0.0.1:$port/postgres"
  exit 0
fi
rm -rf "$dir"
mkdir -p "$dir"
[ "$(id -u)" = 0 ] && chown postgres "$dir"
as_pg "$bindir/initdb -D $dir/data -U postgres -A trust -E UTF8 --locale=C.UTF-8" >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
as_pg "$bindir/pg_ctl -D $dir/data -l $dir/server.log -w -t 60 -o '-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300' start" >/dev/null \
  || { cat "$dir/server.log" >&2; exit 1; }
echo "postgres://postgres@127.0.0.1:$port/postgres"
