-- The engine's own bookkeeping: how far the forwarder has published the log to the bus.
CREATE TABLE engine_checkpoints (
    name       text PRIMARY KEY,
    commit_id  bigint NOT NULL,
    seq        bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
