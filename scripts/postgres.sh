#!/usr/bin/env bash
# A throw-away PostgreSQL server on loopback for the tests that need one, installed from Debian's
# packages when it is missing.
#
#   postgres.sh [start]   start it unless one answers on the port; print the SQLAlchemy URL
#   postgres.sh running   exit 0 when a server answers on the port, 1 when none does
#   postgres.sh stop      stop the server this script started in $DATA and remove its folder;
#                         a server it did not start (another data folder) is left alone
#
# DUBAN_PG_PORT (54329) and DUBAN_PG_DATA (/tmp/duban-pg-PORT) choose the port and the folder.
set -euo pipefail
PORT=${DUBAN_PG_PORT:-54329}
DATA=${DUBAN_PG_DATA:-/tmp/duban-pg-$PORT}
URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
ACTION=${1:-start}

pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

ready() { "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; }

case "$ACTION" in
  start | running | stop) ;;
  *)
    echo "usage: postgres.sh [start|running|stop]" >&2
    exit 2
    ;;
esac

if [ -z "$(pgbin)" ]; then
  [ "$ACTION" = running ] && exit 1  # nothing can be running, nothing to stop
  [ "$ACTION" = stop ] && exit 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
  else
    echo "PostgreSQL is not installed and cannot be installed here" >&2
    exit 1
  fi
fi
BIN=$(pgbin)

if [ "$ACTION" = running ]; then
  if ready; then exit 0; else exit 1; fi
fi

if [ "$ACTION" = stop ]; then
  # Only the server whose folder is $DATA (started by `start`): never another one on the port.
  if [ -f "$DATA/postmaster.pid" ]; then
    as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null 2>&1 \
      || as_pg "$BIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [ -f "$DATA/PG_VERSION" ]; then
    rm -rf "$DATA"
  fi
  exit 0
fi

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
