-- The engine's leader looks for undecided actions every few seconds (engine.Service's
-- PendingSweep): a partial index keeps that look small however many actions were decided.
CREATE INDEX IF NOT EXISTS actions_pending ON actions (proposed_at) WHERE status = 'proposed';
