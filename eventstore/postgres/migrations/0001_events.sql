-- The event log, the stream versions that guard optimistic concurrency, and the append
-- function that writes a batch in one round trip.

CREATE TABLE events (
    -- Assigned at insert, so NOT in commit order: never page by it alone.
    global_position bigserial   NOT NULL,
    -- The appending transaction. Readers only return rows whose transaction_id is below the
    -- xmin of their snapshot: every transaction there has ended, so that prefix of the
    -- (transaction_id, global_position) order can no longer change.
    transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
    id              uuid        PRIMARY KEY,
    stream          text        NOT NULL,
    version         bigint      NOT NULL,
    type            text        NOT NULL,
    schema_version  int         NOT NULL,
    data            jsonb       NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    causation_id    uuid        NULL,
    correlation_id  uuid        NULL,
    CONSTRAINT events_stream_version_key UNIQUE (stream, version)
);

CREATE INDEX events_transaction_id_global_position_idx ON events (transaction_id, global_position);

CREATE TABLE streams (
    stream  text   PRIMARY KEY,
    version bigint NOT NULL
);

-- eventstore_append appends a batch to a stream, atomically with the caller's transaction.
--
-- p_expected: -1 any version, 0 no stream, -2 stream exists, n > 0 exactly version n.
-- Raises SQLSTATE PK001 when the stream does not match p_expected and PK002 when the batch's
-- first id was appended before but not as this very batch in this stream. A later id that
-- already exists fails the insert with unique_violation on events_pkey.
-- When every id was appended before, in this stream and order, it writes nothing and returns
-- the version of the batch's last event with duplicate = true.
-- With p_notify it notifies channel policykit_events, delivered when the transaction commits.
-- Postgres serializes the commits of all notifying transactions of the cluster (a global lock
-- held through the commit's WAL flush), so the Go store passes false and notifies right after
-- the commit instead.
CREATE FUNCTION eventstore_append(
    p_stream          text,
    p_expected        bigint,
    p_ids             uuid[],
    p_types           text[],
    p_schema_versions int[],
    p_datas           jsonb[],
    p_causations      uuid[],
    p_correlations    uuid[],
    p_notify          boolean DEFAULT true,
    OUT next_version  bigint,
    OUT duplicate     boolean
) LANGUAGE plpgsql AS $$
DECLARE
    v_n       int := cardinality(p_ids);
    v_current bigint;
    v_stream  text;
    v_first   bigint;
    v_matched int;
BEGIN
    IF v_n IS NULL OR v_n = 0 THEN
        RAISE EXCEPTION 'eventstore_append: no events for stream %', p_stream USING ERRCODE = 'PK003';
    END IF;

    -- Lock the stream row and claim the versions: appends to one stream are serialized from
    -- here to commit. On any error below the whole statement rolls back, the claim with it.
    LOOP
        UPDATE streams SET version = version + v_n WHERE stream = p_stream
            RETURNING version - v_n INTO v_current;
        EXIT WHEN FOUND;
        INSERT INTO streams (stream, version) VALUES (p_stream, v_n) ON CONFLICT (stream) DO NOTHING;
        IF FOUND THEN
            v_current := 0;
            EXIT;
        END IF;
        -- A concurrent append created the stream first: lock its row.
    END LOOP;

    -- Idempotency, checked under the stream lock so that two retries of one batch agree.
    SELECT e.stream, e.version INTO v_stream, v_first FROM events e WHERE e.id = p_ids[1];
    IF FOUND THEN
        IF v_stream = p_stream THEN
            SELECT count(*) INTO v_matched
              FROM unnest(p_ids) WITH ORDINALITY AS u(id, ord)
              JOIN events e ON e.id = u.id
             WHERE e.stream = p_stream AND e.version = v_first + u.ord - 1;
            IF v_matched = v_n THEN
                UPDATE streams SET version = v_current WHERE stream = p_stream; -- give the claim back
                next_version := v_first + v_n - 1;
                duplicate := true;
                RETURN;
            END IF;
        END IF;
        RAISE EXCEPTION 'event % of stream % was appended before with other events', p_ids[1], p_stream
            USING ERRCODE = 'PK002';
    END IF;

    IF NOT (p_expected = -1
            OR (p_expected = -2 AND v_current > 0)
            OR (p_expected >= 0 AND v_current = p_expected)) THEN
        RAISE EXCEPTION 'stream % is at version %, expected %', p_stream, v_current,
            (CASE p_expected WHEN 0 THEN 'no stream' WHEN -2 THEN 'stream exists' ELSE p_expected::text END)
            USING ERRCODE = 'PK001';
    END IF;

    INSERT INTO events (id, stream, version, type, schema_version, data, causation_id, correlation_id)
    SELECT u.id, p_stream, v_current + u.ord, u.type, u.schema_version, u.data, u.causation, u.correlation
      FROM unnest(p_ids, p_types, p_schema_versions, p_datas, p_causations, p_correlations)
           WITH ORDINALITY AS u(id, type, schema_version, data, causation, correlation, ord)
     ORDER BY u.ord;

    next_version := v_current + v_n;
    duplicate := false;
    IF p_notify THEN
        PERFORM pg_notify('policykit_events', '');
    END IF;
END
$$;
