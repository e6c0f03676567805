-- The Loomio polls the adapter started for proposals: the webhook's events and the polling
-- of open polls find their proposal here.
CREATE TABLE loomio_polls (
    community_id text NOT NULL,
    poll_id      text NOT NULL,
    poll_key     text NOT NULL,
    proposal_id  text NOT NULL,
    url          text NOT NULL DEFAULT '',
    closed       boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, poll_id)
);
CREATE INDEX loomio_polls_key ON loomio_polls (community_id, poll_key);
CREATE INDEX loomio_polls_open ON loomio_polls (closed) WHERE NOT closed;
