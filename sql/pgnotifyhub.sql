-- PgNotifyHub durable mode: "NOTIFY as doorbell, table as log", and row-change feeds. Schema version 2.
--
-- Idempotent: running it again changes nothing, and it upgrades a version-1 installation in place (its messages and
-- reader positions stay). Apply it with psql (psql -v ON_ERROR_STOP=1 -f sql/pgnotifyhub.sql) or let PgNotifyHub
-- apply it at startup (PgNotifyHub:Outbox:InstallSchema). Needs PostgreSQL 13 or later (xid8).
--
-- Send with:  SELECT pgnotifyhub.send('pgws', 'acme', '{"order": 42}');
-- The message is appended to pgnotifyhub.outbox and a doorbell NOTIFY on channel pgnotifyhub_outbox tells every
-- PgNotifyHub node to read it. Nodes read the outbox in order and remember how far they got, so a restart or a
-- lost connection delays messages instead of losing them. Plain pg_notify keeps working next to it.
--
-- Publish a table's inserts, updates and deletes with:
--   SELECT pgnotifyhub.publish_changes('public.orders', 'pgws', $$'tenant:' || tenant_id$$);
-- Every statement that writes the table then sends its changes, grouped per audience, to the channel (see
-- docs/ROW-CHANGES.md for the events' shape). pgnotifyhub.published_tables lists what is published.
--
-- Privileges: publish_changes, unpublish_changes and append_changes are not executable by PUBLIC. To let a role
-- publish the tables it owns:
--   GRANT USAGE ON SCHEMA pgnotifyhub TO app_owner;
--   GRANT EXECUTE ON FUNCTION pgnotifyhub.publish_changes, pgnotifyhub.unpublish_changes,
--       pgnotifyhub.append_changes TO app_owner;
-- Roles that only write to published tables need nothing in pgnotifyhub.

BEGIN;

SELECT pg_advisory_xact_lock(hashtext('pgnotifyhub.install'));

CREATE SCHEMA IF NOT EXISTS pgnotifyhub;

CREATE TABLE IF NOT EXISTS pgnotifyhub.schema_version (
    version      integer PRIMARY KEY,
    installed_at timestamptz NOT NULL DEFAULT now()
);

-- Ordered by (xid, id): a reader only reads rows whose xid is older than every running transaction, so a row that
-- commits later can never sort before what a reader already passed. Since version 2 the xid is the newest one
-- assigned when the row was written rather than the writer's own (see send), so rows are read in the order they were
-- written, and the changes of one row in the order their transactions committed.
CREATE TABLE IF NOT EXISTS pgnotifyhub.outbox (
    xid        xid8        NOT NULL DEFAULT pg_current_xact_id(),
    id         bigint      GENERATED ALWAYS AS IDENTITY,
    channel    text        NOT NULL,
    audience   text        NOT NULL,
    payload    json        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (xid, id)
);

CREATE INDEX IF NOT EXISTS outbox_created_at ON pgnotifyhub.outbox (created_at);

-- Version 1 stored payloads as jsonb. Nodes only ever read the payload's text, and for a bulk statement's changes
-- building or parsing jsonb cost more than the statement itself, so version 2 stores the text (json checks the
-- syntax only). What send stores is unchanged: its jsonb argument's text. The rewrite keeps every row.
DO $$
BEGIN
    IF (SELECT a.atttypid FROM pg_catalog.pg_attribute a
        WHERE a.attrelid = 'pgnotifyhub.outbox'::regclass AND a.attname = 'payload') = 'jsonb'::regtype THEN
        ALTER TABLE pgnotifyhub.outbox ALTER COLUMN payload TYPE json USING payload::json;
    END IF;
END
$$;

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
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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

    -- The row's xid is the newest one assigned so far (xmax is the next to assign), never older than the writer's
    -- own: readers wait until every transaction up to it has finished, so the row is still never skipped. A
    -- transaction that changes a row after another committed a change to it writes later, so its rows get this xid
    -- or a newer one and a greater id, and are read after the other's, in commit order. With the writer's own xid,
    -- as in version 1, they could be read first. (Under REPEATABLE READ the snapshot is older than the writer's xid,
    -- hence greatest; such a writer cannot change a row after another transaction committed a change to it.)
    INSERT INTO pgnotifyhub.outbox (xid, channel, audience, payload)
    VALUES (greatest(pg_current_xact_id(), (pg_snapshot_xmax(pg_current_snapshot())::text::numeric - 1)::text::xid8),
            channel, audience, payload)
    RETURNING id INTO new_id;
    -- One doorbell per transaction: PostgreSQL folds identical notifications of a transaction into one.
    PERFORM pg_notify('pgnotifyhub_outbox', pg_current_xact_id()::text);
    RETURN new_id;
END
$$;

-- The messages of a statement's changes for append_changes, which has checked its arguments: NOTIFYs them, or appends
-- them to the outbox, and returns how many it appended. header is the payload up to its first change.
--
-- Each change costs its bytes and a comma; the changes of one route (NOTIFY or outbox) and audience share messages
-- of room bytes. A message takes as many changes as would fit if each were as large as the largest of its group, so
-- it never exceeds room, and nothing needs sorting: grouping is by hash, in arrival order. Within a statement the
-- order does not matter anyway: it changes each row at most once. The arrays are unnested in select lists, where
-- their elements stream, rather than in FROM, where they would be copied first.
CREATE OR REPLACE FUNCTION pgnotifyhub.append_change_messages(
    channel text, durable boolean, header text, max_bytes integer, write_xid xid8, audiences text[], changes text[])
RETURNS bigint
LANGUAGE sql
-- Grouped by hash in memory (sorting a bulk statement's changes cost as much as the statement); JIT compiling the
-- query would cost more than running it.
SET search_path = pg_catalog, pg_temp SET jit = off SET work_mem = '64MB' SET enable_sort = off AS $$
    WITH items AS (
        SELECT t.audience, t.by_notify,
               CASE WHEN t.by_notify OR t.size <= max_bytes - (octet_length(header) + 2) + 1 THEN t.change
                    ELSE '{"op":' || (t.change::json -> 'op')::text || ',"key":' || (t.change::json -> 'key')::text || ',"too_large":true}'
               END AS change
          FROM (SELECT u.audience, u.change, octet_length(u.change) + 1 AS size,
                       NOT durable AND octet_length(u.change) + 1 <= 7999 - (octet_length(header) + 2) - octet_length(u.audience) AS by_notify
                  FROM (SELECT unnest(audiences) AS audience, unnest(changes) AS change) AS u) AS t
    ), groups AS (
        SELECT g.audience, g.by_notify, g.changes,
               CASE WHEN g.total <= g.room THEN cardinality(g.changes) ELSE greatest(g.room / g.largest, 1) END AS per_message
          FROM (SELECT i.audience, i.by_notify, array_agg(i.change) AS changes,
                       sum(octet_length(i.change) + 1) AS total, max(octet_length(i.change) + 1) AS largest,
                       CASE WHEN i.by_notify THEN 7999 - (octet_length(header) + 2) - octet_length(i.audience) ELSE max_bytes - (octet_length(header) + 2) + 1 END AS room
                  FROM items i
                 GROUP BY i.audience, i.by_notify) AS g
    ), messages AS (
        SELECT c.by_notify, c.audience, header || string_agg(c.change, ',') || ']}' AS payload
          FROM (SELECT g.by_notify, g.audience, unnest(g.changes) AS change,
                       generate_series(0, cardinality(g.changes) - 1) / g.per_message AS chunk
                  FROM groups g) AS c
         GROUP BY c.by_notify, c.audience, c.chunk
    ), outboxed AS (
        INSERT INTO pgnotifyhub.outbox (xid, channel, audience, payload)
        SELECT write_xid, channel, m.audience, m.payload::json
          FROM messages m
         WHERE NOT m.by_notify
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM outboxed)
      FROM (SELECT count(pg_notify(channel, m.audience || ',' || m.payload)) FROM messages m WHERE m.by_notify) AS notified
$$;

REVOKE ALL ON FUNCTION pgnotifyhub.append_change_messages(text, boolean, text, integer, xid8, text[], text[]) FROM PUBLIC;

-- Sends one statement's row changes of table tbl, each change a JSON object text and its audience, as few messages
-- per audience as fit: {"schema":…,"table":…,"at":…,"changes":[change, …]}. Called by the trigger functions that
-- publish_changes generates, which run as the publisher: security definer so that publishers need no privilege on
-- the outbox, and executable only by roles allowed to publish.
--
-- Without durable, changes are NOTIFYed (payload audience,{…} of at most 7,999 bytes), and only a change too large
-- for that goes through the outbox, so the writer's transaction never fails for it. With durable, or too large for
-- NOTIFY, they are appended to the outbox, each message at most pgnotifyhub.settings.max_payload_bytes; a single
-- change larger than that is sent as its op and key with "too_large": true, for the client to read the row itself.
CREATE OR REPLACE FUNCTION pgnotifyhub.append_changes(channel text, tbl regclass, durable boolean, audiences text[], changes text[])
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    header       text;     -- the payload up to its first change
    header_bytes integer;  -- with the closing "]}"
    max_bytes    integer;
    payload      text;
    appended     bigint;
    write_xid    xid8;
    bad_audience text;
    invalid      boolean;
BEGIN
    IF channel IS NULL OR octet_length(channel) NOT BETWEEN 1 AND 63 THEN
        RAISE EXCEPTION 'pgnotifyhub.append_changes: the channel must be 1 to 63 bytes, not %', quote_nullable(channel)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF durable IS NULL THEN
        RAISE EXCEPTION 'pgnotifyhub.append_changes: durable must be true or false' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF coalesce(cardinality(changes), 0) = 0 THEN
        RETURN;
    END IF;
    IF cardinality(audiences) IS DISTINCT FROM cardinality(changes) THEN
        RAISE EXCEPTION 'pgnotifyhub.append_changes: every change needs one audience' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Checked here rather than in each generated trigger: an audience expression can yield anything.
    IF cardinality(changes) = 1 THEN
        bad_audience := CASE WHEN changes[1] IS NULL OR audiences[1] IS NULL OR audiences[1] = '' OR strpos(audiences[1], ',') > 0 THEN audiences[1] END;
        invalid := bad_audience IS NOT NULL OR changes[1] IS NULL OR audiences[1] IS NULL;
    ELSE
        -- Set-returning functions in the select list stream their rows; in FROM they would be copied first.
        SELECT u.audience INTO bad_audience
          FROM (SELECT unnest(audiences) AS audience) AS u
         WHERE u.audience IS NULL OR u.audience = '' OR strpos(u.audience, ',') > 0
         LIMIT 1;
        invalid := FOUND OR array_position(changes, NULL) IS NOT NULL;
    END IF;
    IF invalid THEN
        RAISE EXCEPTION 'pgnotifyhub: the audience of a change of % is %, but audiences must be non-empty and contain no comma', tbl, quote_nullable(bad_audience)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Change the audience expression with pgnotifyhub.publish_changes; an expression that yields NULL leaves the row unpublished.';
    END IF;

    -- The names are read now, so a renamed table is sent under its new name.
    SELECT '{"schema":' || to_json(n.nspname::text)::text || ',"table":' || to_json(c.relname::text)::text
           || ',"at":' || to_json(clock_timestamp())::text || ',"changes":[',
           s.max_payload_bytes
      INTO header, max_bytes
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace CROSS JOIN pgnotifyhub.settings s
     WHERE c.oid = tbl;
    IF header IS NULL THEN
        RAISE EXCEPTION 'pgnotifyhub.append_changes: there is no table with oid %', tbl::oid USING ERRCODE = 'undefined_table';
    END IF;
    header_bytes := octet_length(header) + 2;
    -- As in send: the newest xid assigned so far, so that the changes of a row are read in commit order.
    write_xid := greatest(pg_current_xact_id(), (pg_snapshot_xmax(pg_current_snapshot())::text::numeric - 1)::text::xid8);

    -- A statement that writes one row, the most common, sends one message: no need to group and chunk.
    IF cardinality(changes) = 1 THEN
        payload := header || changes[1] || ']}';
        IF NOT durable AND octet_length(audiences[1]) + 1 + octet_length(payload) <= 7999 THEN
            PERFORM pg_notify(channel, audiences[1] || ',' || payload);
            RETURN;
        ELSIF octet_length(payload) <= max_bytes THEN
            INSERT INTO pgnotifyhub.outbox (xid, channel, audience, payload)
            VALUES (write_xid, append_changes.channel, audiences[1], payload::json);
            PERFORM pg_notify('pgnotifyhub_outbox', pg_current_xact_id()::text);
            RETURN;
        END IF;
    END IF;

    -- In a SQL function: PL/pgSQL holds array arguments in a form that its own queries unnest several times slower.
    appended := pgnotifyhub.append_change_messages(channel, durable, header, max_bytes, write_xid, audiences, changes);
    IF appended > 0 THEN
        PERFORM pg_notify('pgnotifyhub_outbox', pg_current_xact_id()::text);
    END IF;
END
$$;

REVOKE ALL ON FUNCTION pgnotifyhub.append_changes(text, regclass, boolean, text[], text[]) FROM PUBLIC;

-- Code generation for publish_changes: the JSON object text of some columns of a row, as an SQL expression over
-- alias, e.g. '{"id":' || COALESCE(to_json(r.id)::text, 'null') || '}'. Text rather than jsonb: a bulk statement's
-- changes are built several times faster, and numbers keep their text (numeric 1.50 stays 1.50).
CREATE OR REPLACE FUNCTION pgnotifyhub.row_json_sql(alias text, columns text[]) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(
        string_agg(format('%L || COALESCE(to_json(%I.%I)::text, ''null'')',
                          CASE WHEN c.ord = 1 THEN '{' ELSE ',' END || to_json(c.name)::text || ':', alias, c.name),
                   ' || ' ORDER BY c.ord) || ' || ''}''',
        '''{}''')
      FROM unnest(columns) WITH ORDINALITY AS c(name, ord)
$$;

-- Code generation for publish_changes: the JSON object text of the columns whose value an update changed, old
-- values, as an SQL expression over the aliases o (old row) and n (new row). Types whose equality means equal text
-- are compared with it; the others (numeric, where 1.5 = 1.50, json without equality, arrays, domains…) by their
-- text, so that any change a client could see is sent.
CREATE OR REPLACE FUNCTION pgnotifyhub.changed_json_sql(tbl regclass, columns text[]) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(
        '''{'' || array_to_string(ARRAY[' || string_agg(
            format('CASE WHEN %s THEN %L || COALESCE(to_json(o.%I)::text, ''null'') END',
                   CASE WHEN a.atttypid = ANY ('{int2,int4,int8,text,varchar,bpchar,bool,uuid,date,time,timestamp,timestamptz,bytea,oid,name}'::regtype[])
                        THEN format('o.%I IS DISTINCT FROM n.%I', c.name, c.name)
                        ELSE format('o.%I::text IS DISTINCT FROM n.%I::text', c.name, c.name)
                   END,
                   to_json(c.name)::text || ':', c.name),
            ', ' ORDER BY c.ord) || '], '','') || ''}''',
        '''{}''')
      FROM unnest(columns) WITH ORDINALITY AS c(name, ord)
      JOIN pg_attribute a ON a.attrelid = tbl AND a.attname = c.name
$$;

-- Publishes the inserts, updates and deletes (and, if asked, truncates) of table tbl to channel: every statement that
-- writes the table sends its changes, grouped per audience, in as few messages as fit (see append_changes).
--   audience    an SQL expression over the row, e.g. 'tenant:' || tenant_id; NULL leaves the row unpublished. It
--               runs with the privileges of the role that publishes, with search_path pg_catalog: qualify your own
--               functions and tables. Checked now against the table.
--   columns     the columns that events carry (default: all, as the table has them now); exclude removes some.
--   key         the columns that identify a row, in every change (default: the primary key).
--   durable     through the outbox (default), else NOTIFY, with only changes too large for it through the outbox.
--   operations  any of insert, update, delete, truncate (default: the first three).
-- Calling it again replaces the table's publication; call it again after renaming or dropping a column it uses.
--
-- It generates a trigger function next to the table, owned by the caller and security definer, so that writers need
-- no privilege in pgnotifyhub, and statement-level triggers with transition tables on the table and on each of its
-- partitions, so that a bulk statement costs one trigger call per operation. Only the table's owner may publish it.
CREATE OR REPLACE FUNCTION pgnotifyhub.publish_changes(
    tbl        regclass,
    channel    text,
    audience   text,
    columns    text[]  DEFAULT NULL,
    exclude    text[]  DEFAULT NULL,
    durable    boolean DEFAULT true,
    operations text[]  DEFAULT '{insert,update,delete}',
    key        text[]  DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    rel          record;
    ops          text[];
    table_columns text[];
    published    text[];
    key_columns  text[];
    old_columns  text[];
    unknown      text;
    audience_join text;
    fn           text;
    config       text;
    body         text;
    partition    regclass;
    tg_prefix    text;
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'pgnotifyhub.publish_changes: the table must not be NULL' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT c.relname, n.nspname, c.relkind, c.relispartition, c.relowner INTO rel
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tbl;
    IF rel.relkind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'pgnotifyhub.publish_changes: % is not a table', tbl USING ERRCODE = 'wrong_object_type';
    END IF;
    -- A partition's statements on the partitioned table would go unseen; the partitioned table's publication also
    -- covers statements on each partition.
    IF rel.relispartition THEN
        RAISE EXCEPTION 'pgnotifyhub.publish_changes: % is a partition of %; publish that table instead', tbl, pg_partition_root(tbl)
            USING ERRCODE = 'wrong_object_type';
    END IF;
    IF NOT pg_has_role(current_user, rel.relowner, 'USAGE') THEN
        RAISE EXCEPTION 'pgnotifyhub.publish_changes: must be owner of table %', tbl USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT has_function_privilege('pgnotifyhub.append_changes(text, regclass, boolean, text[], text[])', 'EXECUTE') THEN
        RAISE EXCEPTION 'pgnotifyhub.publish_changes: % may not execute pgnotifyhub.append_changes, which the triggers call as their owner', current_user
            USING ERRCODE = 'insufficient_privilege',
                  HINT = format('GRANT EXECUTE ON FUNCTION pgnotifyhub.append_changes TO %I', current_user);
    END IF;
    IF channel IS NULL OR octet_length(channel) NOT BETWEEN 1 AND 63 THEN
        RAISE EXCEPTION 'pgnotifyhub.publish_changes: the channel must be 1 to 63 bytes, not %', quote_nullable(channel)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF durable IS NULL THEN
        RAISE EXCEPTION 'pgnotifyhub.publish_changes: durable must be true or false' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    SELECT array_agg(lower(o)) FILTER (WHERE lower(o) <> ALL ('{insert,update,delete,truncate}')) INTO ops FROM unnest(operations) AS o;
    IF ops IS NOT NULL OR array_position(operations, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'pgnotifyhub.publish_changes: unknown operation %; use insert, update, delete and truncate', quote_nullable(ops[1])
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT array_agg(o ORDER BY array_position('{insert,update,delete,truncate}'::text[], o)) INTO ops
      FROM (SELECT DISTINCT lower(o) AS o FROM unnest(operations) AS o) AS d;
    IF ops IS NULL THEN
        RAISE EXCEPTION 'pgnotifyhub.publish_changes: no operation to publish; use unpublish_changes to stop publishing'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    SELECT array_agg(a.attname::text ORDER BY a.attnum) INTO table_columns
      FROM pg_attribute a WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped;
    SELECT c INTO unknown FROM unnest(columns || exclude || key) AS c WHERE c IS NULL OR c <> ALL (table_columns) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'pgnotifyhub.publish_changes: column "%" of table % does not exist', coalesce(unknown, 'NULL'), tbl
            USING ERRCODE = 'undefined_column';
    END IF;
    -- The trigger's queries name these next to the table's own columns.
    SELECT c INTO unknown FROM unnest(table_columns) AS c WHERE c IN ('pgnotifyhub_ord', 'pgnotifyhub_audience') LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'pgnotifyhub.publish_changes: table % has a column named %, a name the generated trigger needs', tbl, unknown
            USING ERRCODE = 'duplicate_column';
    END IF;

    published := ARRAY(SELECT c FROM unnest(table_columns) AS c
                        WHERE (columns IS NULL OR c = ANY (columns)) AND (exclude IS NULL OR c <> ALL (exclude)));
    IF key IS NOT NULL THEN
        key_columns := ARRAY(SELECT DISTINCT ON (k) k FROM unnest(key) WITH ORDINALITY AS u(k, ord) ORDER BY k, ord);
        key_columns := ARRAY(SELECT k FROM unnest(key_columns) AS k ORDER BY array_position(key, k));
    ELSE
        SELECT array_agg(a.attname::text ORDER BY k.ord) INTO key_columns
          FROM pg_index i
         CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
         WHERE i.indrelid = tbl AND i.indisprimary;
    END IF;
    IF coalesce(cardinality(key_columns), 0) = 0 THEN
        RAISE EXCEPTION 'pgnotifyhub.publish_changes: table % has no primary key', tbl
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Add one, or name the columns that identify a row: key => ''{column, …}''.';
    END IF;
    SELECT k INTO unknown FROM unnest(key_columns) AS k WHERE k = ANY (exclude) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'pgnotifyhub.publish_changes: column % is in the key of table %, which every change carries; it cannot be excluded', quote_ident(unknown), tbl
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- The audience expression becomes part of the trigger's queries, so it is checked in exactly the text it will
    -- have there. A semicolon could end that query and start another.
    IF audience IS NULL OR btrim(audience) = '' THEN
        RAISE EXCEPTION 'pgnotifyhub.publish_changes: the audience expression must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF strpos(audience, ';') > 0 THEN
        RAISE EXCEPTION 'pgnotifyhub.publish_changes: the audience expression % contains a semicolon', quote_literal(audience)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    audience_join := E'CROSS JOIN LATERAL (SELECT (\n' || audience || E'\n)::text AS audience) AS a';
    BEGIN
        EXECUTE 'SELECT a.audience FROM ' || tbl::text || ' AS r ' || audience_join || ' LIMIT 0';
    EXCEPTION WHEN OTHERS THEN
        RAISE EXCEPTION 'pgnotifyhub.publish_changes: the audience expression % is not valid for table %: %', quote_literal(audience), tbl, SQLERRM
            USING ERRCODE = 'invalid_parameter_value';
    END;

    -- The old values an update sends: the published and key columns it changed.
    old_columns := ARRAY(SELECT c FROM unnest(table_columns) AS c WHERE c = ANY (published) OR c = ANY (key_columns));
    fn := format('%I.%I', rel.nspname, 'pgnotifyhub_changes_' || tbl::oid);
    config := jsonb_build_object('channel', channel, 'audience', audience, 'columns', published, 'exclude', exclude,
                                 'key', key_columns, 'durable', durable, 'operations', ops)::text;
    body := concat_ws(E'\n',
        '-- pgnotifyhub row-change feed of ' || tbl::text || ', generated by pgnotifyhub.publish_changes, which replaces it.',
        '-- Security definer: it runs as the role that published the table, whose privileges the audience expression',
        '-- has; writers need none in pgnotifyhub. Changes within a statement are in no particular order: it changes',
        '-- each row once.',
        '#variable_conflict use_column',
        'DECLARE',
        '    published_table constant regclass := coalesce(pg_partition_root(TG_RELID), TG_RELID);',
        'BEGIN',
        '    IF TG_OP = ''INSERT'' THEN',
        '        PERFORM pgnotifyhub.append_changes(' || quote_literal(channel) || ', published_table, ' || durable || ', s.audiences, s.changes)',
        '          FROM (SELECT array_agg(a.audience) AS audiences,',
        '                       array_agg(''{"op":"insert","key":'' || ' || pgnotifyhub.row_json_sql('r', key_columns)
                                      || ' || '',"new":'' || ' || pgnotifyhub.row_json_sql('r', published) || ' || ''}'') AS changes',
        '                  FROM pgnotifyhub_new AS r ' || audience_join,
        '                 WHERE a.audience IS NOT NULL) AS s',
        '         WHERE s.audiences IS NOT NULL;',
        '    ELSIF TG_OP = ''DELETE'' THEN',
        '        PERFORM pgnotifyhub.append_changes(' || quote_literal(channel) || ', published_table, ' || durable || ', s.audiences, s.changes)',
        '          FROM (SELECT array_agg(a.audience) AS audiences,',
        '                       array_agg(''{"op":"delete","key":'' || ' || pgnotifyhub.row_json_sql('r', key_columns)
                                      || ' || '',"old":'' || ' || pgnotifyhub.row_json_sql('r', published) || ' || ''}'') AS changes',
        '                  FROM pgnotifyhub_old AS r ' || audience_join,
        '                 WHERE a.audience IS NOT NULL) AS s',
        '         WHERE s.audiences IS NOT NULL;',
        '    ELSIF TG_OP = ''UPDATE'' THEN',
        -- PostgreSQL appends each updated row's old and new versions to the two transition tables together, so their
        -- n-th rows belong together, also when the key changed.
        '        -- The n-th rows of the old and new transition tables are the same row''s versions. A row whose audience',
        '        -- changed is, for the old audience, deleted, and for the new one inserted: neither sees the other''s values.',
        '        -- Each OFFSET 0 keeps a subquery whose columns are used twice from being computed twice.',
        '        PERFORM pgnotifyhub.append_changes(' || quote_literal(channel) || ', published_table, ' || durable || ',',
        '                   coalesce(s.new_audiences, ''{}'') || coalesce(s.old_audiences, ''{}''), coalesce(s.changes, ''{}'') || coalesce(s.removals, ''{}''))',
        '          FROM (SELECT array_agg(p.new_audience) FILTER (WHERE p.change IS NOT NULL) AS new_audiences,',
        '                       array_agg(p.change) FILTER (WHERE p.change IS NOT NULL) AS changes,',
        '                       array_agg(p.old_audience) FILTER (WHERE p.removal IS NOT NULL) AS old_audiences,',
        '                       array_agg(p.removal) FILTER (WHERE p.removal IS NOT NULL) AS removals',
        '                  FROM (SELECT n.pgnotifyhub_audience AS new_audience, o.pgnotifyhub_audience AS old_audience,',
        '                               CASE WHEN n.pgnotifyhub_audience IS NULL THEN NULL',
        '                                    WHEN n.pgnotifyhub_audience IS DISTINCT FROM o.pgnotifyhub_audience THEN',
        '                                      ''{"op":"insert","key":'' || ' || pgnotifyhub.row_json_sql('n', key_columns)
                                              || ' || '',"new":'' || ' || pgnotifyhub.row_json_sql('n', published) || ' || ''}''',
        '                                    WHEN d.old <> ''{}'' THEN',
        '                                      ''{"op":"update","key":'' || ' || pgnotifyhub.row_json_sql('n', key_columns)
                                              || ' || '',"new":'' || ' || pgnotifyhub.row_json_sql('n', published) || ' || '',"old":'' || d.old || ''}''',
        '                               END AS change,',
        '                               CASE WHEN o.pgnotifyhub_audience IS DISTINCT FROM n.pgnotifyhub_audience THEN',
        '                                      ''{"op":"delete","key":'' || ' || pgnotifyhub.row_json_sql('o', key_columns)
                                              || ' || '',"old":'' || ' || pgnotifyhub.row_json_sql('o', published) || ' || ''}''',
        '                               END AS removal',
        '                          FROM (SELECT row_number() OVER () AS pgnotifyhub_ord, a.audience AS pgnotifyhub_audience, r.*',
        '                                  FROM pgnotifyhub_old AS r ' || audience_join || ') AS o',
        '                          JOIN (SELECT row_number() OVER () AS pgnotifyhub_ord, a.audience AS pgnotifyhub_audience, r.*',
        '                                  FROM pgnotifyhub_new AS r ' || audience_join || ') AS n',
        '                            ON n.pgnotifyhub_ord = o.pgnotifyhub_ord',
        '                         CROSS JOIN LATERAL (SELECT ' || pgnotifyhub.changed_json_sql(tbl, old_columns) || ' AS old OFFSET 0) AS d',
        '                        OFFSET 0) AS p) AS s',
        '         WHERE s.changes IS NOT NULL OR s.removals IS NOT NULL;',
        '    ELSIF TG_OP = ''TRUNCATE'' THEN',
        '        -- Before the rows go, every audience that has some is told. Built here so that it follows renames.',
        '        EXECUTE ''SELECT pgnotifyhub.append_changes($1, $2, $3, s.audiences, array_fill(''''{"op":"truncate"}''''::text, ARRAY[cardinality(s.audiences)]))''',
        '             || '' FROM (SELECT array_agg(DISTINCT a.audience) AS audiences FROM '' || TG_RELID::regclass::text || '' AS r ''',
        '             || ' || quote_literal(audience_join) || ' || '' WHERE a.audience IS NOT NULL) AS s WHERE s.audiences IS NOT NULL''',
        '          USING ' || quote_literal(channel) || ', published_table, ' || durable || ';',
        '    END IF;',
        '    RETURN NULL;',
        'END');

    PERFORM pgnotifyhub.unpublish_changes(tbl);
    -- JIT compiling the trigger's queries costs more than running them. An update's old and new rows are paired by
    -- hashing in memory: the planner, which cannot know that both sides come numbered in order, would sort both.
    EXECUTE format('CREATE OR REPLACE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER'
                   ' SET search_path = pg_catalog, pg_temp SET jit = off SET work_mem = ''64MB'' SET enable_mergejoin = off AS %L',
                   fn, body);
    -- Attached to another table it would read that table's rows as its owner.
    EXECUTE format('REVOKE ALL ON FUNCTION %s() FROM PUBLIC', fn);

    FOR partition, tg_prefix IN
        SELECT tbl, 'pgnotifyhub_'
        UNION ALL
        SELECT t.relid, 'pgnotifyhub_partition_' FROM pg_partition_tree(tbl) AS t WHERE t.relid <> tbl
    LOOP
        IF 'insert' = ANY (ops) THEN
            EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS pgnotifyhub_new FOR EACH STATEMENT EXECUTE FUNCTION %s(%L)',
                           tg_prefix || 'insert', partition, fn, config);
        END IF;
        IF 'update' = ANY (ops) THEN
            EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %s REFERENCING OLD TABLE AS pgnotifyhub_old NEW TABLE AS pgnotifyhub_new FOR EACH STATEMENT EXECUTE FUNCTION %s(%L)',
                           tg_prefix || 'update', partition, fn, config);
        END IF;
        IF 'delete' = ANY (ops) THEN
            EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %s REFERENCING OLD TABLE AS pgnotifyhub_old FOR EACH STATEMENT EXECUTE FUNCTION %s(%L)',
                           tg_prefix || 'delete', partition, fn, config);
        END IF;
        -- BEFORE, to read the audiences the rows had. Not on partitions: truncating the partitioned table fires the
        -- triggers of every partition too, and that of the partitioned table already told everyone.
        IF 'truncate' = ANY (ops) AND partition = tbl THEN
            EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION %s(%L)',
                           tg_prefix || 'truncate', partition, fn, config);
        END IF;
    END LOOP;
END
$$;

-- Stops publishing table tbl: drops the triggers and the trigger function publish_changes made. Returns whether the
-- table was published. Also drops the trigger functions of dropped tables that the caller owns.
CREATE OR REPLACE FUNCTION pgnotifyhub.unpublish_changes(tbl regclass) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t       record;
    dropped boolean := false;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = tbl AND pg_has_role(current_user, c.relowner, 'USAGE')) THEN
        RAISE EXCEPTION 'pgnotifyhub.unpublish_changes: must be owner of table %', tbl USING ERRCODE = 'insufficient_privilege';
    END IF;
    FOR t IN
        SELECT tg.tgrelid::regclass AS rel, tg.tgname
          FROM pg_trigger tg JOIN pg_proc p ON p.oid = tg.tgfoid
         WHERE tg.tgrelid IN (SELECT tbl UNION SELECT relid FROM pg_partition_tree(tbl))
           AND NOT tg.tgisinternal AND p.prosrc LIKE '%-- pgnotifyhub row-change feed of %'
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', t.tgname, t.rel);
        dropped := true;
    END LOOP;
    FOR t IN
        SELECT p.oid::regprocedure AS fn
          FROM pg_proc p
         WHERE p.proname LIKE 'pgnotifyhub\_changes\_%' AND p.prorettype = 'trigger'::regtype
           AND p.prosrc LIKE '%-- pgnotifyhub row-change feed of %'
           AND pg_has_role(current_user, p.proowner, 'USAGE')
           AND NOT EXISTS (SELECT FROM pg_trigger tg WHERE tg.tgfoid = p.oid)
    LOOP
        EXECUTE format('DROP FUNCTION %s', t.fn);
    END LOOP;
    RETURN dropped;
END
$$;

-- What is published: one row per table, as publish_changes was last called for it (columns: those events carry).
-- Read from the triggers' arguments, so it cannot disagree with them, and a dropped table leaves no row.
CREATE OR REPLACE VIEW pgnotifyhub.published_tables AS
SELECT DISTINCT ON (tg.tgrelid)
       tg.tgrelid::regclass                                                      AS tbl,
       cfg.config ->> 'channel'                                                  AS channel,
       cfg.config ->> 'audience'                                                 AS audience,
       ARRAY(SELECT jsonb_array_elements_text(cfg.config -> 'columns'))          AS columns,
       CASE WHEN jsonb_typeof(cfg.config -> 'exclude') = 'array'
            THEN ARRAY(SELECT jsonb_array_elements_text(cfg.config -> 'exclude')) END AS exclude,
       ARRAY(SELECT jsonb_array_elements_text(cfg.config -> 'key'))              AS key,
       (cfg.config ->> 'durable')::boolean                                       AS durable,
       ARRAY(SELECT jsonb_array_elements_text(cfg.config -> 'operations'))       AS operations,
       tg.tgfoid::regprocedure                                                   AS trigger_function
  FROM pg_catalog.pg_trigger tg
  JOIN pg_catalog.pg_class c ON c.oid = tg.tgrelid
  JOIN pg_catalog.pg_proc p ON p.oid = tg.tgfoid
 CROSS JOIN LATERAL (SELECT pg_catalog.convert_from(pg_catalog.substr(tg.tgargs, 1, pg_catalog.octet_length(tg.tgargs) - 1),
                                                    pg_catalog.getdatabaseencoding())::jsonb AS config) AS cfg
 WHERE tg.tgname IN ('pgnotifyhub_insert', 'pgnotifyhub_update', 'pgnotifyhub_delete', 'pgnotifyhub_truncate')
   AND tg.tgnargs = 1 AND NOT c.relispartition
   AND p.prosrc LIKE '%-- pgnotifyhub row-change feed of %'
 ORDER BY tg.tgrelid, tg.tgname;

REVOKE ALL ON FUNCTION pgnotifyhub.publish_changes(regclass, text, text, text[], text[], boolean, text[], text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgnotifyhub.unpublish_changes(regclass) FROM PUBLIC;
-- Nothing that pg_trigger, which everyone can read, does not show already.
GRANT SELECT ON pgnotifyhub.published_tables TO PUBLIC;

INSERT INTO pgnotifyhub.schema_version (version) VALUES (1) ON CONFLICT DO NOTHING;
INSERT INTO pgnotifyhub.schema_version (version) VALUES (2) ON CONFLICT DO NOTHING;

COMMIT;
