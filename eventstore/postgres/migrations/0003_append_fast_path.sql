-- Appends with an exact expected version (or none yet) take a fast path: one plain INSERT
-- that checks the expected version against the stream's event at that version, lets the
-- unique indexes on (stream, version) and id reject every conflict, and falls back to
-- eventstore_append on any error. eventstore_version_mismatch is how that INSERT fails
-- when the stream has no event at the expected version, so that a transaction holding
-- several appends aborts as a whole.

CREATE FUNCTION eventstore_version_mismatch(p_stream text, p_expected bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION 'stream % has no event at expected version %', p_stream, p_expected
        USING ERRCODE = 'PK001';
END
$$;
