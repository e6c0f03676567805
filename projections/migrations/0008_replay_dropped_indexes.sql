-- The secondary indexes a replay has dropped and not yet built again. A replay refills
-- emptied tables: it drops their secondary indexes first, recording each here in the same
-- transaction, and builds each once at the end, which costs far less than keeping it up to
-- date row by row. Whatever ends a replay early (a crash included), the runner builds the
-- recorded indexes again before it catches up or follows the log (Runner.CatchUp, Run), and
-- Migrate before it migrates, so that a migration always finds the indexes it expects.
CREATE TABLE projection_dropped_indexes (
    name       text PRIMARY KEY, -- as regclass text: schema-qualified when not on the search path
    table_name text NOT NULL,
    definition text NOT NULL,    -- pg_get_indexdef
    dropped_at timestamptz NOT NULL
);
