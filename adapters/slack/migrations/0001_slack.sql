-- Bot tokens per workspace, AES-256-GCM encrypted (the team id is the additional data).
CREATE TABLE slack_tokens (
    team_id    text PRIMARY KEY,
    nonce      bytea NOT NULL,
    ciphertext bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- What the adapter performed: one row per effect, however often it was requested.
CREATE TABLE slack_effects (
    idempotency_key text PRIMARY KEY,
    effect_id       text NOT NULL,
    community_id    text NOT NULL,
    method          text NOT NULL,
    purpose         text NOT NULL,
    result          jsonb NOT NULL,
    performed_at    timestamptz NOT NULL DEFAULT now()
);

-- The vote messages the adapter posted, to turn button clicks into votes.
CREATE TABLE slack_votes (
    team_id      text NOT NULL,
    channel      text NOT NULL,
    ts           text NOT NULL,
    community_id text NOT NULL,
    proposal_id  text NOT NULL,
    kind         text NOT NULL,
    options      jsonb NOT NULL DEFAULT '[]',
    users        jsonb NOT NULL DEFAULT '[]',
    PRIMARY KEY (team_id, channel, ts)
);

-- The last name seen of each channel (Slack's channel_rename event carries only the new one).
CREATE TABLE slack_channel_names (
    team_id text NOT NULL,
    channel text NOT NULL,
    name    text NOT NULL,
    PRIMARY KEY (team_id, channel)
);

-- Renames the adapter made itself, so that their channel_rename events are not governed.
CREATE TABLE slack_own_renames (
    team_id text NOT NULL,
    channel text NOT NULL,
    name    text NOT NULL,
    PRIMARY KEY (team_id, channel, name)
);

-- Events already handled (Slack retries a delivery it thinks failed).
CREATE TABLE slack_seen_events (
    team_id  text NOT NULL,
    event_id text NOT NULL,
    seen_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, event_id)
);
