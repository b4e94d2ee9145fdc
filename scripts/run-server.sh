#!/usr/bin/env bash
# Runs the PgNotifyHub server. With ConnectionStrings__Postgres or PGHOST set it uses that
# database; otherwise it starts a throwaway local PostgreSQL cluster for the run.
# Arguments are passed to the server (e.g. --urls http://127.0.0.1:5000, or --help for every setting). Without an
# address there or in ASPNETCORE_URLS/ASPNETCORE_HTTP_PORTS, it listens on http://localhost:8080.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
SERVER=(dotnet run --project src/PgNotifyHub.Server -c Release -- "$@")

# This script is for local development: the Development environment, and the demo page's sender
# (POST /dev/notify) on unless DevNotify__Enabled says otherwise. The server refuses to start the sender in
# Production: it lets anyone send anything.
export ASPNETCORE_ENVIRONMENT=${ASPNETCORE_ENVIRONMENT:-Development}
export DevNotify__Enabled=${DevNotify__Enabled:-true}
# The server refuses to start without authentication unless told that anonymous clients are fine, as they are
# for local development. Configure Authentication__Jwt__* (see README) to require tokens instead.
export Authentication__AllowAnonymous=${Authentication__AllowAnonymous:-true}

if [[ -n ${ConnectionStrings__Postgres:-} || -n ${PGHOST:-} ]]; then
  exec "${SERVER[@]}"
fi

# --- PostgreSQL server binaries -------------------------------------------------------------
find_initdb() { ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1; }
INITDB=$(find_initdb)
if [[ -z $INITDB ]]; then
  if [[ $EUID -ne 0 ]]; then
    echo "PostgreSQL server binaries not found. Install them (Debian/Ubuntu: sudo apt-get install -y postgresql)" >&2
    echo "or point the server at a database: export ConnectionStrings__Postgres='Host=...;Username=...;Password=...'" >&2
    exit 1
  fi
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
  INITDB=$(find_initdb)
fi
PG_BIN=$(dirname "$INITDB")

# initdb refuses to run as root, so as root the cluster belongs to (and runs as) postgres;
# from / because postgres may not be allowed into the current directory.
if [[ $EUID -eq 0 ]]; then
  as_pg() { (cd / && runuser -u postgres -- "$@"); }
else
  as_pg() { "$@"; }
fi

# --- Data directory (created once) ----------------------------------------------------------
PORT=${PGNOTIFYHUB_DEV_PG_PORT:-5544}
PGDATA_DIR=$REPO/.pgdata
# As root we create the dir and hand it to postgres, who must still be able to reach it; as a
# normal user we must be able to create it. The socket path (<dir>/.s.PGSQL.<port>) must also
# fit in the 107-byte limit of a Unix socket address.
if [[ $EUID -eq 0 ]]; then
  runuser -u postgres -- test -x "$REPO" && usable=1 || usable=0
else
  [[ -w $REPO || -O $PGDATA_DIR ]] && usable=1 || usable=0
fi
if (( !usable || ${#PGDATA_DIR} > 90 )); then
  PGDATA_DIR=/tmp/pgnotifyhub-dev-$(id -u)
  echo "Note: $REPO is not usable for the dev database; using $PGDATA_DIR instead." >&2
fi

if [[ ! -f $PGDATA_DIR/PG_VERSION ]]; then
  mkdir -p "$PGDATA_DIR"
  chmod 700 "$PGDATA_DIR"
  if [[ $EUID -eq 0 ]]; then chown postgres:postgres "$PGDATA_DIR"; fi
  as_pg "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres -E UTF8 --no-locale --no-sync --auth=trust >/dev/null
  # Trust, but only over the data dir's private socket and TCP on 127.0.0.1.
  printf '%s\n' 'local all all trust' 'host all all 127.0.0.1/32 trust' |
    as_pg tee "$PGDATA_DIR/pg_hba.conf" >/dev/null
fi

# --- One script at a time: the one that started the cluster stops it when it exits --------------
exec 9>"$PGDATA_DIR/run-server.lock"
if ! flock -n 9; then
  echo "Another scripts/run-server.sh is running with the development database in $PGDATA_DIR;" >&2
  echo "stop it first (Ctrl+C), or give this one a database of its own: ConnectionStrings__Postgres='Host=...' scripts/run-server.sh" >&2
  exit 1
fi

# --- Start the cluster unless it is already running; stop it on exit ------------------------
if as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
  PORT=$(sed -n 4p "$PGDATA_DIR/postmaster.pid") # line 4 holds the port it listens on
  echo "PostgreSQL is already running in $PGDATA_DIR on port $PORT; leaving it running." >&2
else
  if ! as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PGDATA_DIR/server.log" -w -t 30 \
      -o "-p $PORT -k '$PGDATA_DIR' -c listen_addresses=127.0.0.1" start >/dev/null; then
    tail -n 20 "$PGDATA_DIR/server.log" >&2
    exit 1
  fi
  trap 'as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null' EXIT
fi

export ConnectionStrings__Postgres="Host=127.0.0.1;Port=$PORT;Username=postgres;Database=postgres"
# Durable mode on the throwaway database only, so pgnotifyhub.send(...) works at once; a database of your own is
# never changed unless you ask (PgNotifyHub__Outbox__InstallSchema=true).
export PgNotifyHub__Outbox__Enabled=${PgNotifyHub__Outbox__Enabled:-true}
export PgNotifyHub__Outbox__InstallSchema=${PgNotifyHub__Outbox__InstallSchema:-true}
echo "Durable messages of any size: psql -h 127.0.0.1 -p $PORT -U postgres -c \"select pgnotifyhub.send('pgws', 'default', '{\\\"message\\\": \\\"hello\\\"}')\"" >&2
echo "Send a message with the form on the demo page, or with: psql -h 127.0.0.1 -p $PORT -U postgres -c \"select pg_notify('pgws', 'default,{\\\"message\\\":\\\"hello\\\"}')\" and watch http://localhost:8080/ (or the address you gave)."
"${SERVER[@]}"
