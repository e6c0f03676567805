-- How far the engine has decided each stream: the version of the last recorded event (an
-- action proposed, a vote, an answer) whose decision is in the log. Whoever recorded the
-- event waits for it, also when the decision changed nothing.
CREATE TABLE engine_decided (
    stream     text PRIMARY KEY,
    version    bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
