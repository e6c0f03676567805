-- The index of a community's events in the log (the API's Community.events): one row per
-- event of the community's stream and of its actions' and proposals' streams, keyed by the
-- community and the event's log position, so that a page of a community's events reads its
-- own rows instead of scanning the log. The events themselves stay in the event store; a
-- row names the stream and version to read one from, and carries what the API filters on.
CREATE TABLE community_events (
    community_id   text NOT NULL,
    commit_id      bigint NOT NULL,
    seq            bigint NOT NULL,
    stream         text NOT NULL,
    stream_version bigint NOT NULL,
    event_type     text NOT NULL,
    recorded_at    timestamptz NOT NULL,
    PRIMARY KEY (community_id, commit_id, seq)
);
