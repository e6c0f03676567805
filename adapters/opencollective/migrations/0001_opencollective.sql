-- The webhooks the adapter registered on Open Collective for each community's connection:
-- one per expense activity type. The token that registered them is kept sealed, so that they
-- can be removed after the connection (and its token) left the directory.
CREATE TABLE opencollective_webhooks (
    community_id  text NOT NULL,
    connection    text NOT NULL,
    activity_type text NOT NULL,
    collective    text NOT NULL,
    webhook_id    text NOT NULL,
    token_name    text NOT NULL,
    sealed_token  text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, connection, activity_type)
);
