#!/usr/bin/env bash
# Start a throw-away PostgreSQL server on loopback for the tests that need one, installing it from
# Debian's packages when it is missing. Prints the SQLAlchemy URL on stdout.
set -euo pipefail
PORT=${DUBAN_PG_PORT:-54329}
DATA=${DUBAN_PG_DATA:-/tmp/duban-pg-$PORT}
URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"

pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

if [ -z "$(pgbin)" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
  else
    echo "PostgreSQL is not installed and cannot be installed here" >&2
    exit 1
  fi
fi
BIN=$(pgbin)

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

ready() { "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; }

# Reuse a server that answers; otherwise start a new one (a stale pid file or a dead server's
# folder is no reason to fail).
if ! ready; then
  as_pg "$BIN/pg_ctl" -D "$DATA" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$DATA"
  mkdir -p "$DATA"
  [ "$(id -u)" = 0 ] && chown postgres "$DATA"
  as_pg "$BIN/initdb" -D "$DATA" -A trust -U postgres >/dev/null
  as_pg "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
    -o "-p $PORT -h 127.0.0.1 -k /tmp -c fsync=off" start >/dev/null
fi
for _ in $(seq 1 30); do ready && break; sleep 0.5; done
if ! ready; then
  echo "PostgreSQL did not start on 127.0.0.1:$PORT (see $DATA/server.log)" >&2
  exit 1
fi
echo "$URL"
