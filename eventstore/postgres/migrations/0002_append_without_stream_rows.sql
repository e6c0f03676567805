-- Appends take the stream's lock as a transaction-scoped advisory lock and read the stream's
-- version from the events themselves (the (stream, version) index), instead of updating a
-- row per stream: one write less per append, which is most of an append's cost beyond the
-- insert itself. The two-key advisory lock form keeps these locks apart from the one-key
-- locks the rest of the product takes (migrations, leadership, projections).

CREATE OR REPLACE FUNCTION eventstore_append(
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

    -- Appends to one stream are serialized from here to commit (streams whose names hash
    -- alike share a lock, which only orders them).
    PERFORM pg_advisory_xact_lock(7262, hashtext(p_stream));
    SELECT coalesce(max(e.version), 0) INTO v_current FROM events e WHERE e.stream = p_stream;

    -- Idempotency, checked under the stream lock so that two retries of one batch agree.
    SELECT e.stream, e.version INTO v_stream, v_first FROM events e WHERE e.id = p_ids[1];
    IF FOUND THEN
        IF v_stream = p_stream THEN
            SELECT count(*) INTO v_matched
              FROM unnest(p_ids) WITH ORDINALITY AS u(id, ord)
              JOIN events e ON e.id = u.id
             WHERE e.stream = p_stream AND e.version = v_first + u.ord - 1;
            IF v_matched = v_n THEN
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

DROP TABLE streams;
