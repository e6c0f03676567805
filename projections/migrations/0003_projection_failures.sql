-- Events a projector could not apply. The projector skips such an event (its tables miss
-- what the event would have changed) and goes on with the rest of the log; each failure is
-- logged and kept here for operators, one row per projector and event (the latest attempt).
-- A replay empties a projector's failures with its tables and records them again.
CREATE TABLE projection_failures (
    projector      text NOT NULL,
    event_id       uuid NOT NULL,
    event_type     text NOT NULL,
    stream         text NOT NULL,
    stream_version bigint NOT NULL,
    commit_id      bigint NOT NULL,
    seq            bigint NOT NULL,
    error          text NOT NULL,
    failed_at      timestamptz NOT NULL,
    PRIMARY KEY (projector, event_id)
);
