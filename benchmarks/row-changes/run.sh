#!/usr/bin/env bash
# What publishing a table's row changes (pgnotifyhub.publish_changes) costs the transactions that write it, measured
# with pgbench against a throwaway PostgreSQL cluster that this script starts and stops itself.
#
# Cases, each unpublished, published durable (outbox), published without durable (NOTIFY), and, for reference, with a
# hand-written row trigger that NOTIFYs row_to_json(NEW) and one that calls pgnotifyhub.send(…, to_jsonb(NEW)):
#   update      single-row UPDATE of pgbench_accounts, CLIENTS sessions for DURATION seconds: transactions/s
#   insert      single-row INSERT into bench_events, the same: transactions/s
#   bulk-update one UPDATE of 100,000 pgbench_accounts rows (one branch), one session: ms per statement
#   bulk-insert one INSERT ... SELECT of 100,000 bench_events rows, one session: ms per statement
# The audience of a row is 'branch:' || bid. Runs of the modes alternate, RUNS times; the table shows medians.
# Nobody reads the outbox or LISTENs: this is what writers pay. The cluster keeps PostgreSQL's durability defaults
# (fsync, synchronous_commit), since a commit's WAL flush is part of that; only checkpoints are spaced out, and one
# is taken before every run, so that none lands inside a measurement.
#
# Usage: benchmarks/row-changes/run.sh [case …]     (default: all four)
# Environment: RUNS (3), DURATION (15), CLIENTS (4), BULK_STATEMENTS (5), SCALE (10), PG_BIN (newest installed),
# PG_SETTINGS (extra server settings, e.g. "synchronous_commit=off"), MODES (all five).
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNS=${RUNS:-3}
DURATION=${DURATION:-15}
CLIENTS=${CLIENTS:-4}
BULK_STATEMENTS=${BULK_STATEMENTS:-5}
SCALE=${SCALE:-10}
if (($#)); then CASES=("$@"); else CASES=(update insert bulk-update bulk-insert); fi
read -r -a MODES <<<"${MODES:-none durable notify by-hand-notify by-hand-send}"

BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[[ -x "$BIN/initdb" && -x "$BIN/pgbench" ]] || { echo "PostgreSQL server binaries not found; set PG_BIN" >&2; exit 2; }

# initdb refuses to run as root; the cluster's directory must belong to the user that runs it.
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
DATA=/tmp/pgnotifyhub-rowbench-$$
WORK=$DATA.work
mkdir -p "$DATA" "$WORK"
[[ $(id -u) == 0 ]] && chown postgres "$DATA"
cleanup() {
  as_pg "$BIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$DATA" "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

as_pg "$BIN/initdb" -D "$DATA" --auth=trust -U postgres -E UTF8 --no-locale >/dev/null
for attempt in 1 2 3 4 5; do
  PORT=$((20000 + RANDOM % 20000))
  if as_pg "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 \
      -o "-p $PORT -k $DATA -c listen_addresses=127.0.0.1 -c max_wal_size=8GB -c checkpoint_timeout=1h $(for setting in ${PG_SETTINGS:-}; do printf -- '-c %s ' "$setting"; done)" start >/dev/null; then
    break
  fi
  [[ $attempt == 5 ]] && { cat "$DATA/server.log" >&2; exit 2; }
done
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
psql() { PGOPTIONS='-c client_min_messages=warning' "$BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

psql -f sql/pgnotifyhub.sql >/dev/null
"$BIN/pgbench" -i -q -s "$SCALE" >/dev/null 2>&1
psql -c "CREATE TABLE bench_events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, bid int NOT NULL, aid int NOT NULL, delta int NOT NULL, mtime timestamptz NOT NULL)"

cat >"$WORK/update.sql" <<'SQL'
\set aid random(1, 100000 * :scale)
\set delta random(-5000, 5000)
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SQL
cat >"$WORK/insert.sql" <<'SQL'
\set aid random(1, 100000 * :scale)
\set bid random(1, :scale)
INSERT INTO bench_events (bid, aid, delta, mtime) VALUES (:bid, :aid, 1, CURRENT_TIMESTAMP);
SQL
cat >"$WORK/bulk-update.sql" <<'SQL'
\set start random(0, :scale - 1) * 100000 + 1
UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid BETWEEN :start AND :start + 99999;
SQL
cat >"$WORK/bulk-insert.sql" <<'SQL'
\set bid random(1, :scale)
INSERT INTO bench_events (bid, aid, delta, mtime) SELECT :bid, i, 1, CURRENT_TIMESTAMP FROM generate_series(1, 100000) AS i;
SQL

psql <<'SQL'
CREATE FUNCTION bench_notify_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('bench', 'branch:' || NEW.bid || ',' || row_to_json(NEW)::text);
    RETURN NULL;
END $$;
CREATE FUNCTION bench_send_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pgnotifyhub.send('bench', 'branch:' || NEW.bid, to_jsonb(NEW));
    RETURN NULL;
END $$;
SQL

set_mode() {
  local tables="unnest('{pgbench_accounts,bench_events}'::regclass[]) AS t"
  psql -c "SELECT pgnotifyhub.unpublish_changes(t) FROM $tables" \
       -c "DROP TRIGGER IF EXISTS bench_by_hand ON pgbench_accounts" -c "DROP TRIGGER IF EXISTS bench_by_hand ON bench_events" >/dev/null
  case $1 in
    durable) psql -c "SELECT pgnotifyhub.publish_changes(t, 'bench', \$\$'branch:' || bid\$\$) FROM $tables" >/dev/null ;;
    notify)  psql -c "SELECT pgnotifyhub.publish_changes(t, 'bench', \$\$'branch:' || bid\$\$, durable => false) FROM $tables" >/dev/null ;;
    by-hand-notify|by-hand-send)
      for table in pgbench_accounts bench_events; do
        psql -c "CREATE TRIGGER bench_by_hand AFTER INSERT OR UPDATE ON $table FOR EACH ROW EXECUTE FUNCTION bench_${1#by-hand-}_row()"
      done ;;
  esac
  # The same starting point for every run: no outbox backlog, no dead rows, no checkpoint due.
  psql -c "TRUNCATE pgnotifyhub.outbox, bench_events" -c "VACUUM ANALYZE pgbench_accounts" -c "CHECKPOINT"
}

# Prints transactions/s for single-row cases, ms per statement for bulk ones.
measure() {
  local case=$1 out
  if [[ $case == bulk-* ]]; then
    out=$("$BIN/pgbench" -n -M prepared -c 1 -t "$BULK_STATEMENTS" -D scale="$SCALE" -f "$WORK/$case.sql" 2>&1)
    awk '/^latency average/ { print $4 }' <<<"$out"
  else
    out=$("$BIN/pgbench" -n -M prepared -c "$CLIENTS" -j 2 -T "$DURATION" -D scale="$SCALE" -f "$WORK/$case.sql" 2>&1)
    awk '/^tps = / { print $3 }' <<<"$out"
  fi
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "PostgreSQL $("$BIN/postgres" --version | awk '{ print $3 }'), scale $SCALE, $CLIENTS clients x ${DURATION}s, $BULK_STATEMENTS bulk statements, $RUNS runs; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A results
for case in "${CASES[@]}"; do
  for ((run = 1; run <= RUNS; run++)); do
    for mode in "${MODES[@]}"; do
      set_mode "$mode"
      value=$(measure "$case")
      results[$case,$mode]+="$value "
      extra=""
      if [[ $case == bulk-* && $mode == durable ]]; then
        extra=$(psql -At -c "SELECT ', outbox: ' || count(*) / $BULK_STATEMENTS || ' messages per statement, ' || round(avg(octet_length(payload::text))) || ' bytes each' FROM pgnotifyhub.outbox")
      fi
      printf '%-12s %-14s run %d: %s%s\n' "$case" "$mode" "$run" "$value" "$extra"
    done
  done
done

echo
line=$(printf '%-12s %-5s' case unit)
for mode in "${MODES[@]}"; do line+=$(printf ' %20s' "$mode"); done
echo "$line"
for case in "${CASES[@]}"; do
  unit=tps; [[ $case == bulk-* ]] && unit=ms
  base=$(tr ' ' '\n' <<<"${results[$case,${MODES[0]}]}" | grep . | median)
  line=$(printf '%-12s %-5s' "$case" "$unit")
  for mode in "${MODES[@]}"; do
    value=$(tr ' ' '\n' <<<"${results[$case,$mode]}" | grep . | median)
    line+=$(printf ' %20s' "$(awk -v v="$value" -v b="$base" 'BEGIN { printf "%.0f (%.2fx)", v, v / b }')")
  done
  echo "$line"
done
echo "(median of $RUNS runs; in parentheses: relative to ${MODES[0]})"
