-- PgNotifyHub SignalR backplane: the table for messages too large for one NOTIFY. Schema version 1.
--
-- Idempotent: running it again changes nothing. PgNotifyHub applies it when a node first needs the table
-- (PgNotifyHub:Backplane:InstallSchema, on by default); with that off, apply it once with
-- psql -v ON_ERROR_STOP=1 -f sql/pgnotifyhub-backplane.sql before the first message over 5,999 bytes is sent.
--
-- A backplane message whose NOTIFY payload would exceed PostgreSQL's 7,999 bytes is stored here, and the NOTIFY
-- carries only its id, in the same transaction. Every node reads it once when the NOTIFY arrives; nodes that spill
-- delete rows older than PgNotifyHub:Backplane:SpillRetention.

BEGIN;

-- The same lock as sql/pgnotifyhub.sql: two nodes installing at once would otherwise race on CREATE SCHEMA.
SELECT pg_advisory_xact_lock(hashtext('pgnotifyhub.install'));

CREATE SCHEMA IF NOT EXISTS pgnotifyhub;

-- Unlogged: like NOTIFY's own queue the rows need not survive a crash, and skipping WAL keeps large sends cheap.
CREATE UNLOGGED TABLE IF NOT EXISTS pgnotifyhub.backplane_messages (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payload    bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS backplane_messages_created_at ON pgnotifyhub.backplane_messages (created_at);

COMMIT;
