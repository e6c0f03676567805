-- The polls the adapter posted for proposals' votes, read until the proposal is decided.
CREATE TABLE discourse_votes (
    community_id text NOT NULL,
    post_id      bigint NOT NULL,
    proposal_id  text NOT NULL,
    topic_id     bigint NOT NULL,
    poll_name    text NOT NULL,
    kind         text NOT NULL,
    options      jsonb NOT NULL DEFAULT '[]',
    option_ids   jsonb NOT NULL DEFAULT '[]',
    users        jsonb NOT NULL DEFAULT '[]',
    closed       boolean NOT NULL DEFAULT false,
    PRIMARY KEY (community_id, post_id)
);
CREATE INDEX discourse_votes_open ON discourse_votes (closed) WHERE NOT closed;

-- Topics and posts the adapter made itself, whose webhooks are not governed again.
CREATE TABLE discourse_ours (
    community_id text NOT NULL,
    kind         text NOT NULL,
    id           bigint NOT NULL,
    PRIMARY KEY (community_id, kind, id)
);
