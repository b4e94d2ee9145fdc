-- PgNotifyHub durable mode: "NOTIFY as doorbell, table as log". Schema version 1.
--
-- Idempotent: running it again changes nothing, and a later version of this script upgrades in place. Apply it
-- with psql (psql -v ON_ERROR_STOP=1 -f sql/pgnotifyhub.sql) or let PgNotifyHub apply it at startup
-- (PgNotifyHub:Outbox:InstallSchema). Needs PostgreSQL 13 or later (xid8).
--
-- Send with:  SELECT pgnotifyhub.send('pgws', 'acme', '{"order": 42}');
-- The message is appended to pgnotifyhub.outbox and a doorbell NOTIFY on channel pgnotifyhub_outbox tells every
-- PgNotifyHub node to read it. Nodes read the outbox in order and remember how far they got, so a restart or a
-- lost connection delays messages instead of losing them. Plain pg_notify keeps working next to it.

BEGIN;

SELECT pg_advisory_xact_lock(hashtext('pgnotifyhub.install'));

CREATE SCHEMA IF NOT EXISTS pgnotifyhub;

CREATE TABLE IF NOT EXISTS pgnotifyhub.schema_version (
    version      integer PRIMARY KEY,
    installed_at timestamptz NOT NULL DEFAULT now()
);

-- Ordered by (xid, id): a reader only reads rows of transactions older than every running one, so a row that
-- commits later can never sort before what a reader already passed.
CREATE TABLE IF NOT EXISTS pgnotifyhub.outbox (
    xid        xid8        NOT NULL DEFAULT pg_current_xact_id(),
    id         bigint      GENERATED ALWAYS AS IDENTITY,
    channel    text        NOT NULL,
    audience   text        NOT NULL,
    payload    jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (xid, id)
);

CREATE INDEX IF NOT EXISTS outbox_created_at ON pgnotifyhub.outbox (created_at);

-- How far each node has read, so a restarted node goes on where it stopped.
CREATE TABLE IF NOT EXISTS pgnotifyhub.readers (
    name       text        PRIMARY KEY,
    xid        xid8        NOT NULL,
    id         bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS pgnotifyhub.settings (
    singleton         boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    max_payload_bytes integer NOT NULL DEFAULT 1048576 CHECK (max_payload_bytes > 0)
);

INSERT INTO pgnotifyhub.settings DEFAULT VALUES ON CONFLICT DO NOTHING;

CREATE OR REPLACE FUNCTION pgnotifyhub.send(channel text, audience text, payload jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    max_bytes  integer;
    size_bytes integer;
    new_id     bigint;
BEGIN
    IF channel IS NULL OR octet_length(channel) NOT BETWEEN 1 AND 63 THEN
        RAISE EXCEPTION 'pgnotifyhub.send: the channel must be 1 to 63 bytes, not %', quote_nullable(channel)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- The audience ends at the first comma of a NOTIFY payload, so one with a comma could never be addressed.
    IF audience IS NULL OR audience = '' OR strpos(audience, ',') > 0 THEN
        RAISE EXCEPTION 'pgnotifyhub.send: the audience must be non-empty and contain no comma, not %', quote_nullable(audience)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF payload IS NULL OR jsonb_typeof(payload) <> 'object' THEN
        RAISE EXCEPTION 'pgnotifyhub.send: the payload must be a JSON object, not %', coalesce(jsonb_typeof(payload), 'null')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    SELECT s.max_payload_bytes INTO max_bytes FROM pgnotifyhub.settings s;
    size_bytes := octet_length(payload::text);
    IF size_bytes > max_bytes THEN
        RAISE EXCEPTION 'pgnotifyhub.send: the payload is % bytes, over the limit of % (pgnotifyhub.settings.max_payload_bytes)', size_bytes, max_bytes
            USING ERRCODE = 'program_limit_exceeded';
    END IF;

    INSERT INTO pgnotifyhub.outbox (channel, audience, payload) VALUES (channel, audience, payload) RETURNING id INTO new_id;
    -- One doorbell per transaction: PostgreSQL folds identical notifications of a transaction into one.
    PERFORM pg_notify('pgnotifyhub_outbox', pg_current_xact_id()::text);
    RETURN new_id;
END
$$;

INSERT INTO pgnotifyhub.schema_version (version) VALUES (1) ON CONFLICT DO NOTHING;

COMMIT;
